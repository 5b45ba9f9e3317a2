"""Fixtures for the compliance officers' tools: policy directories, audit records, the CLI."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from gateway.audit.files import ExportedMessage, write_export
from gateway.cli.policy import policy_group
from gateway.cli.register import register_command
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditCheckpoint, AuditRecord, Reason

SHIPPED = Path(__file__).resolve().parents[2] / "policies"

CRAFTED = """\
id: crafted-agreement
title: A crafted agreement
requester: ho
provider: dfe
legal_basis: Test Act 2020 s.1
reference: MoU TEST/1
owner: Test team
status: {status}
valid_from: 2020-01-01
valid_until: {valid_until}
review_by: {review_by}
purposes:
  - id: locate
    description: Find a person's address.
    subject_identifiers: [upn]
    request_fields: [upn, surname]
    response_fields: [home_address, school_name]
"""
"""An agreement that no lint fires on as of 2026-01-01 (with the defaults of :func:`crafted`)."""


def crafted(**values: str) -> str:
    """The crafted agreement with some placeholders filled differently."""
    filled = {"status": "active", "valid_until": "2030-12-31", "review_by": "2029-12-31"}
    return CRAFTED.format(**{**filled, **values})


PolicyDir = Callable[..., Path]


@pytest.fixture
def policy_dir(tmp_path: Path) -> PolicyDir:
    """``make(name, shipped=True, files={}) -> dir``: a copy of the shipped agreements (or an
    empty directory), with ``files`` (file name -> text) written over it."""

    def make(
        name: str = "policies", *, shipped: bool = True, files: Mapping[str, str] | None = None
    ) -> Path:
        directory = tmp_path / name
        if shipped:
            shutil.copytree(SHIPPED, directory, ignore=shutil.ignore_patterns("*.md"))
        else:
            directory.mkdir()
        for file_name, text in (files or {}).items():
            (directory / file_name).write_text(textwrap.dedent(text), encoding="utf-8")
        return directory

    return make


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) with ``new`` in a file."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of ``path`` containing ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if text in line)


def run(command: click.Command, *args: str | Path) -> Result:
    return CliRunner().invoke(command, [str(a) for a in args], catch_exceptions=False)


def policy(*args: str | Path) -> Result:
    """``gateway policy ARGS``."""
    return run(policy_group, *args)


def register(*args: str | Path) -> Result:
    """``gateway register ARGS``."""
    return run(register_command, *args)


AuditFactory = Callable[..., AuditRecord]


@pytest.fixture
def audit_record() -> AuditFactory:
    """``make(agreement, purpose, outcome, **fields)``: a request-stage audit record from the
    requester's request topic; record ``n`` is stamped ``n`` minutes after 10:00 on 2026-11-02."""
    counter = iter(range(1, 10_000))

    def make(agreement: str, purpose: str, outcome: str, **fields: Any) -> AuditRecord:
        n = next(counter)
        requester = fields.pop("requester", "rtw")
        values: dict[str, Any] = {
            "prev_hash": "",
            "sequence": -1,
            "decision_id": f"decision-{n}",
            "request_id": f"request-{n}",
            "stage": "REQUEST",
            "at": datetime(2026, 11, 2, 10, n % 60, tzinfo=UTC),
            "requester": requester,
            "provider": "ho",
            "agreement_id": agreement,
            "purpose": purpose,
            "outcome": outcome,
            "reasons": [Reason(code="agreement.allows", message="allowed")],
            "policy_version": "recorded",
            "input_topic": f"dx.requests.{requester}",
            "input_partition": 0,
            "input_offset": n,
            "gateway_instance": "gateway-test",
        }
        return AuditRecord.model_validate({**values, **fields})

    return make


def write_plain(path: Path, records: Iterable[AuditRecord]) -> Path:
    """Audit records as plain JSON lines."""
    path.write_text("".join(r.model_dump_json() + "\n" for r in records), encoding="utf-8")
    return path


def write_audit_export(path: Path, records: Iterable[AuditRecord]) -> Path:
    """An audit export of ``records`` followed by a signed checkpoint, as exact message bytes."""
    codec = Codec.default()
    values = [codec.encode(r) for r in records]
    checkpoint = AuditCheckpoint(
        prev_hash="0" * 64,
        sequence=len(values),
        partition=0,
        at=datetime(2026, 11, 2, 12, tzinfo=UTC),
        gateway_instance="gateway-test",
        key_id="0" * 16,
        signature=bytes(64),
    )
    values.append(codec.encode(checkpoint))
    write_export(path, "dx.audit", 1, (ExportedMessage(0, i, v) for i, v in enumerate(values)))
    return path
