"""Audit stores to test against (SQLite, and PostgreSQL: see the ``postgres_url`` fixture), and
factories of audit records like the gateway's."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from gateway.audit.subject import SubjectKeyer
from gateway.audit_store import (
    AuditCoordinates,
    AuditStore,
    DecodedRecord,
    open_store,
)
from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage, Reason

SUBJECT_SECRET = "test-subject-key-secret-0123456789"
KEYER = SubjectKeyer(SUBJECT_SECRET.encode())
T0 = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)

RecordFactory = Callable[..., AuditRecord]
Loadable = Callable[..., list[DecodedRecord]]


@pytest.fixture(scope="session")
def subject_secret() -> str:
    """The subject-key secret every record and gateway here is keyed with."""
    return SUBJECT_SECRET


@pytest.fixture(autouse=True)
def _cli_subject_secret(monkeypatch: pytest.MonkeyPatch, subject_secret: str) -> None:
    """The CLI reads the secret from the environment, as in production."""
    monkeypatch.setenv("GATEWAY_SUBJECT_KEY_SECRET", subject_secret)


@pytest.fixture
def record_factory() -> RecordFactory:
    """``make(**fields)``: an audit record of an approved status check, fields overridden;
    ``subject=("nhs_number", "9990001234")`` keys it to that person."""
    sequence = itertools.count()

    def make(subject: tuple[str, str] | None = None, **fields: Any) -> AuditRecord:
        n = next(sequence)
        base: dict[str, Any] = {
            "prev_hash": "0" * 64,
            "sequence": n,
            "decision_id": uuid.uuid4().hex,
            "request_id": uuid.uuid4().hex,
            "stage": AuditStage.REQUEST,
            "at": T0 + timedelta(minutes=n),
            "requester": "nhs",
            "provider": "ho",
            "agreement_id": "nhs-ho-status-check",
            "purpose": "overseas-visitor-charging",
            "outcome": AuditOutcome.APPROVED,
            "reasons": [Reason(code="agreement.allows", message="the agreement allows it")],
            "fields_requested": ["immigration_status", "leave_expiry"],
            "fields_released": ["person_id", "surname"],
            "subject_key": KEYER.key(*subject) if subject else None,
            "policy_version": "test",
            "input_topic": "dx.requests.nhs",
            "input_partition": 0,
            "input_offset": n,
            "gateway_instance": "gateway-test",
        }
        return AuditRecord(**{**base, **fields})

    return make


def _loadable(records: Sequence[AuditRecord], first_offset: int = 0) -> list[DecodedRecord]:
    return [
        DecodedRecord.of(r, AuditCoordinates("dx.audit", 0, first_offset + i, f"{i:064x}"))
        for i, r in enumerate(records)
    ]


@pytest.fixture
def loadable() -> Loadable:
    """``loadable(records, first_offset=0)``: records as the indexer hands them to a store, at
    consecutive offsets of partition 0."""
    return _loadable


@pytest.fixture
def t0() -> datetime:
    """When the first record of :func:`record_factory` was made; the next come a minute apart."""
    return T0


@pytest.fixture
def subject_key() -> Callable[[str, str], str]:
    """``subject_key(field, value)``: the pseudonymous key the gateway would record."""
    return KEYER.key


def _postgres_schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty audit store's URL: a SQLite file, or a fresh schema on the test server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
        open_store(url).close()  # an empty store that exists: reading commands refuse none
        yield url
        return
    import psycopg

    server: str = request.getfixturevalue("postgres_url")
    schema = f"audit_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield _postgres_schema_url(server, schema)
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store(store_url: str) -> Iterator[AuditStore]:
    """An open, empty audit store (each backend in turn), closed afterwards."""
    opened = open_store(store_url)
    yield opened
    opened.close()
