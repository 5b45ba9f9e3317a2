"""Compliance pages: the register, decision search, subject access reports, audit integrity.

Each reuses the command-line tools' code: the register of :mod:`gateway.policy.tools`, the
audit store's queries, :func:`gateway.audit_store.reports.subject_access_report` (what
``gateway report subject`` prints) and :func:`gateway.audit.verify.verify_export` (``gateway
audit verify``). A store or cluster that cannot be reached is said so on the page.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, TypeVar

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.audit.subject import identifier_key, parse_identifier
from gateway.audit.verify import VerifyReport, verify_export
from gateway.audit_store import AuditStore, Tally, open_store
from gateway.audit_store.render._common import EXCHANGE_HEADINGS, exchange_cells
from gateway.audit_store.render.subject import INTRODUCTION
from gateway.audit_store.reports import caps_from_policy, subject_access_report
from gateway.console.access import page
from gateway.console.state import state_of
from gateway.console.users import Role, User
from gateway.console.views import PAGE_SIZE, decision_query, register_view, usage_from_tally
from gateway.envelope.models import AuditOutcome
from gateway.errors import ConfigError, GatewayError
from gateway.policy.tools import build_register, load_compiled
from gateway.transport.topics import TopicNames

__all__ = ["ROUTES"]

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SEARCH_FIELDS = ("dept", "agreement", "purpose", "outcome", "since", "until")


async def _with_store(request: Request, work: Callable[[AuditStore], T]) -> T:
    """``work(store)`` in a worker thread, on a store opened for it alone."""
    url = state_of(request).config.audit_db

    def run() -> T:
        store = open_store(url)
        try:
            return work(store)
        finally:
            store.close()

    return await asyncio.to_thread(run)


def _render(request: Request, name: str, user: User, **context: Any) -> Response:
    response: Response = state_of(request).render(request, name, user, context)
    return response


# --- register ----------------------------------------------------------------------------------


@page(Role.COMPLIANCE)
async def register(request: Request, user: User) -> Response:
    config = state_of(request).config
    now = datetime.now(UTC)
    try:
        policy = await asyncio.to_thread(load_compiled, config.policies_dir)
    except GatewayError as exc:
        return _render(request, "register.html", user, error=f"The policies did not load: {exc}")
    store_error = None
    usage, today = None, None
    day_start = datetime.combine(now.date(), time(), UTC)
    try:
        usage, today = await _with_store(
            request, lambda s: (s.tally(_EPOCH, now), s.tally(day_start, now))
        )
    except GatewayError as exc:
        store_error = f"Usage is unknown: the audit store cannot be read ({exc})."
    entries = build_register(
        policy, usage_from_tally(usage) if usage is not None else None, today=now.date()
    )
    caps = caps_from_policy(policy) if today is not None else {}
    rows = register_view(entries, caps, today or Tally((), (), ()), now)
    return _render(
        request, "register.html", user, register=entries, rows=rows, store_error=store_error
    )


# --- decisions ---------------------------------------------------------------------------------


@page(Role.COMPLIANCE)
async def decisions(request: Request, user: User) -> Response:
    params = {k: request.query_params.get(k, "") for k in _SEARCH_FIELDS}
    context: dict[str, Any] = {
        "params": params,
        "outcomes": [o.value for o in AuditOutcome],
        "departments": state_of(request).config.departments,
        "items": [],
        "page": 1,
    }
    try:
        page_number = int(request.query_params.get("page", "1") or 1)
        query = decision_query(params, page=page_number)
    except (ConfigError, ValueError) as exc:
        return _render(request, "decisions.html", user, **context, error=str(exc))
    try:
        items = await _with_store(request, lambda s: s.decisions(query))
    except GatewayError as exc:
        return _render(
            request, "decisions.html", user, **context,
            error=f"The audit store cannot be read: {exc}",
        )  # fmt: skip
    searched = {k: v for k, v in params.items() if v}
    context.update(
        items=items[:PAGE_SIZE],
        page=page_number,
        has_next=len(items) > PAGE_SIZE,
        searched=searched,
        first=(page_number - 1) * PAGE_SIZE + 1,
    )
    return _render(request, "decisions.html", user, **context)


# --- subject access ----------------------------------------------------------------------------


@page(Role.COMPLIANCE)
async def subject(request: Request, user: User) -> Response:
    """The form (GET); the report (POST: the identifier stays out of URLs and logs)."""
    if request.method == "GET":
        return _render(request, "subject.html", user)
    form = await request.form()
    identifier = str(form.get("identifier", ""))
    config = state_of(request).config
    try:
        field, value = parse_identifier(identifier)
        if value is None:
            raise ConfigError("give the identifier as FIELD=VALUE, e.g. nhs_number=9990001234")
        key = identifier_key(field, value, config.subject_key_secret)
    except ConfigError as exc:
        return _render(request, "subject.html", user, error=str(exc))
    try:
        report = await _with_store(
            request,
            lambda s: subject_access_report(
                s, identifier_field=field, subject_key=key, generated_at=datetime.now(UTC)
            ),
        )
    except GatewayError as exc:
        return _render(
            request, "subject.html", user, error=f"The audit store cannot be read: {exc}"
        )
    return _render(
        request,
        "subject.html",
        user,
        report=report,
        headings=EXCHANGE_HEADINGS,
        rows=[exchange_cells(e) for e in report.exchanges],
        introduction=INTRODUCTION,
    )


# --- audit integrity ---------------------------------------------------------------------------


@page(Role.COMPLIANCE)
async def integrity(request: Request, user: User) -> Response:
    """Verify an uploaded export, or the audit topic itself, as ``gateway audit verify`` does."""
    if request.method == "GET":
        return _render(request, "integrity.html", user)
    form = await request.form()
    try:
        return await _verify(request, user, form)
    finally:
        await form.close()  # the upload's temporary file


async def _verify(request: Request, user: User, form: FormData) -> Response:
    config = state_of(request).config
    source: str
    try:
        with tempfile.TemporaryDirectory(prefix="dx-console-") as tmp:
            copy = Path(tmp) / "audit.jsonl"
            upload = form.get("export")
            if form.get("source") == "topic":
                if config.bootstrap is None:
                    raise ConfigError("no Kafka cluster is configured (--bootstrap)")
                from gateway.transport.audit_log import export_audit

                topics = TopicNames(config.prefix)
                await export_audit(config.bootstrap, topics, copy)
                source = f"{topics.audit} on {config.bootstrap}"
            elif isinstance(upload, UploadFile) and upload.filename:
                with copy.open("wb") as out:
                    await asyncio.to_thread(shutil.copyfileobj, upload.file, out)
                source = f"uploaded file {Path(upload.filename).name}"
            else:
                raise ConfigError("choose an export file to upload, or verify the audit topic")
            report: VerifyReport = await asyncio.to_thread(verify_export, copy, config.public_key)
    except GatewayError as exc:
        return _render(request, "integrity.html", user, error=str(exc))
    return _render(
        request, "integrity.html", user, report=report, lines=report.describe(), source=source
    )


ROUTES = [
    Route("/register", register),
    Route("/decisions", decisions),
    Route("/subject", subject, methods=["GET", "POST"]),
    Route("/integrity", integrity, methods=["GET", "POST"]),
]
