"""Explain one request: the decision, every reason, and the field names it would move.

Request files hold an :class:`~gateway.envelope.models.ExchangeRequest` as JSON or YAML. Query
values may be personal data, so an explanation names query fields and never shows their values;
a request file may list query field names alone (``query: [upn, surname]``). One request is
explained on its own, so volume caps are taken as not yet reached.

The clock rule is the gateway's (:mod:`gateway.policy.clock`): the request is decided at the time
the gateway receives it (``at``, converted to UTC; by default the request's ``sent_at``, as if it
arrived the moment it was sent), validity dates are UTC days, and a ``sent_at`` too far from that
time denies. To explain a decision the gateway made, pass the ``at`` of its audit record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gateway.envelope.models import ExchangeRequest, Reason
from gateway.errors import ConfigError
from gateway.policy.caps import InMemoryVolumeCounter
from gateway.policy.clock import DEFAULT_SENT_AT_WINDOW, SentAtWindow, utc_day
from gateway.policy.compiler import CompiledPolicy, CompiledPurpose
from gateway.policy.decision import decide

__all__ = ["PLACEHOLDER", "Explanation", "explain_request", "read_request_file"]

PLACEHOLDER = "x"
"""The value given to a query field named without one: decisions read names, never values."""

_DEFAULT_REQUEST_ID = "explain"


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a request would be approved or denied, naming fields and never their values."""

    request_id: str
    requester: str
    provider: str
    agreement_id: str
    purpose: str
    sender: str
    at: datetime
    """When the gateway receives the request, in UTC: the time it is decided at."""
    allowed: bool
    outcome: str
    reasons: tuple[Reason, ...]
    query_fields: tuple[str, ...]
    """Query fields the provider would receive, after minimisation (none when denied)."""
    removed_query_fields: tuple[str, ...]
    response_fields: tuple[str, ...]
    """Response fields that would be released (the purpose's allow-list narrowed by the ask)."""
    transformed_fields: tuple[str, ...]
    """``path: transform`` for released fields that are released in a reduced form."""
    policy_version: str

    def lines(self) -> list[str]:
        """The explanation as plain lines."""
        out = [
            f"request {self.request_id}: {self.requester} asks {self.provider} under "
            f"'{self.agreement_id}' for '{self.purpose}' (sent by {self.sender}, "
            f"received at {self.at.isoformat()}, UTC day {utc_day(self.at).isoformat()})",
            f"outcome: {self.outcome}",
            "reasons:",
            *(f"  {r.code}: {r.message}" for r in self.reasons),
        ]
        if not self.allowed:
            out.append("nothing is sent to the provider and nothing is released")
            out.append(f"policy version: {self.policy_version}")
            return out
        out += [
            f"query fields sent to the provider: {_names(self.query_fields)}",
            f"query fields removed: {_names(self.removed_query_fields)}",
            f"response fields released: {_names(self.response_fields)}",
        ]
        if self.transformed_fields:
            out.append(f"released in reduced form: {_names(self.transformed_fields)}")
        out.append(f"policy version: {self.policy_version}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "requester": self.requester,
            "provider": self.provider,
            "agreement_id": self.agreement_id,
            "purpose": self.purpose,
            "sender": self.sender,
            "at": self.at.isoformat(),
            "allowed": self.allowed,
            "outcome": self.outcome,
            "reasons": [{"code": r.code, "message": r.message} for r in self.reasons],
            "query_fields": list(self.query_fields),
            "removed_query_fields": list(self.removed_query_fields),
            "response_fields": list(self.response_fields),
            "transformed_fields": list(self.transformed_fields),
            "policy_version": self.policy_version,
        }


def explain_request(
    policy: CompiledPolicy,
    request: ExchangeRequest,
    sender: str | None = None,
    at: datetime | None = None,
    sent_at_window: SentAtWindow = DEFAULT_SENT_AT_WINDOW,
) -> Explanation:
    """Decide ``request`` as the gateway would if it received it from ``sender`` (default: its
    requester) at ``at`` (default: its ``sent_at``; a naive time is taken as UTC, any other
    offset converted to UTC) and explain the result."""
    sender = request.requester if sender is None else sender
    when = _utc(request.sent_at if at is None else at)
    decision = decide(
        policy,
        request,
        sender=sender,
        now=when,
        volume=InMemoryVolumeCounter(),
        sent_at_window=sent_at_window,
    )
    purpose = policy.purpose(request.agreement_id, request.purpose)
    return Explanation(
        request_id=request.request_id,
        requester=request.requester,
        provider=request.provider,
        agreement_id=request.agreement_id,
        purpose=request.purpose,
        sender=sender,
        at=when,
        allowed=decision.allowed,
        outcome=decision.outcome.value,
        reasons=decision.reasons,
        query_fields=tuple(sorted(decision.query)) if decision.allowed else (),
        removed_query_fields=decision.removed_query_fields if decision.allowed else (),
        response_fields=decision.response_fields if decision.allowed else (),
        transformed_fields=_transformed(purpose, decision.response_fields)
        if purpose is not None and decision.allowed
        else (),
        policy_version=decision.policy_version,
    )


def read_request_file(path: Path, *, at: datetime | None = None) -> ExchangeRequest:
    """An :class:`ExchangeRequest` from a JSON or YAML file; ``request_id`` and ``sent_at`` may
    be left out (``sent_at`` then defaults to ``at``, or now). Raises :class:`ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        document = json.loads(text) if Path(path).suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the request file ({exc})") from exc
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid JSON or YAML ({exc})") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a request's keys (requester, provider, ...)")
    document.setdefault("request_id", _DEFAULT_REQUEST_ID)
    document.setdefault("sent_at", _utc(at) if at is not None else datetime.now(UTC))
    if isinstance(document["sent_at"], datetime):
        document["sent_at"] = _utc(document["sent_at"])
    document["query"] = _query(document.get("query"))
    try:
        return ExchangeRequest.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: not a valid request: {problems}") from None


def _query(value: object) -> object:
    """Query values as text (YAML reads dates and numbers); a list of names gets placeholders."""
    if isinstance(value, list):
        return {str(name): PLACEHOLDER for name in value}
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, str) else _text(v) for k, v in value.items()}
    return {} if value is None else value


def _text(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is taken to be UTC already."""
    if moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _transformed(purpose: CompiledPurpose, released: tuple[str, ...]) -> tuple[str, ...]:
    """``path: transform`` for each released path (or path inside one) the purpose reduces."""
    return tuple(
        f"{path}: {spec.name}"
        for path, spec in purpose.transforms.rules
        if any(path == r or path.startswith((f"{r}.", f"{r}[")) for r in released)
    )


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names) if names else "none"
