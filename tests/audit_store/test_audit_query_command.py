"""``gateway audit query``: every filter narrows the decisions listed, and a subject is found by
identifier without the identifier ever being printed."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.audit_store import AuditStore, DecisionQuery, DecodedRecord
from gateway.cli.audit_query import query_command
from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage

RecordFactory = Callable[..., AuditRecord]
Loadable = Callable[..., list[DecodedRecord]]
PERSON = ("person_id", "HO-000123")


@pytest.fixture
def decisions(
    store: AuditStore, record_factory: RecordFactory, loadable: Loadable, t0: datetime
) -> dict[str, AuditRecord]:
    """Five decisions over four days, by name, loaded into ``store``."""
    asked = record_factory(subject=PERSON, at=t0)
    made = {
        "asked": asked,
        "answered": record_factory(
            subject=PERSON,
            at=t0 + timedelta(minutes=1),
            request_id=asked.request_id,
            stage=AuditStage.RESPONSE,
            outcome=AuditOutcome.REDACTED,
        ),
        "refused": record_factory(
            subject=("person_id", "HO-000999"),
            at=t0 + timedelta(days=1),
            requester="rtw",
            agreement_id="rtw-ho-status-check",
            purpose="right-to-work",
            outcome=AuditOutcome.DENIED,
        ),
        "minimised": record_factory(
            subject=("upn", "A123456789012"),
            at=t0 + timedelta(days=2),
            requester="ho",
            provider="dfe",
            agreement_id="ho-dfe-school-census",
            purpose="locate-immigration-offender",
            outcome=AuditOutcome.APPROVED_MINIMISED,
        ),
        "dead_letter": record_factory(
            at=t0 + timedelta(days=3),
            request_id=None,
            stage=AuditStage.INPUT,
            requester=None,
            provider=None,
            agreement_id=None,
            purpose=None,
            outcome=AuditOutcome.DEAD_LETTERED,
        ),
    }
    store.load(loadable(list(made.values())))
    return made


def query(store_url: str, *args: str) -> list[str]:
    """Decision ids ``gateway audit query --format json`` lists, in its order."""
    result = CliRunner().invoke(
        query_command, ["--db", store_url, "--format", "json", *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return [d["decision_id"] for d in json.loads(result.stdout)]


def ids(decisions: dict[str, AuditRecord], *names: str) -> list[str]:
    return [decisions[n].decision_id for n in names]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ["dead_letter", "minimised", "refused", "answered", "asked"]),
        (("--dept", "dfe"), ["minimised"]),
        (("--dept", "rtw"), ["refused"]),
        (("--dept", "ho"), ["minimised", "refused", "answered", "asked"]),
        (("--agreement", "rtw-ho-status-check"), ["refused"]),
        (("--purpose", "locate-immigration-offender"), ["minimised"]),
        (("--outcome", "denied"), ["refused"]),
        (("--outcome", "REDACTED"), ["answered"]),
        (("--since", "2026-11-06T09:30:00"), ["dead_letter", "minimised", "refused"]),
        (("--until", "2026-11-06"), ["answered", "asked"]),
        (("--since", "2026-11-06", "--until", "2026-11-07T12:31+03:00"), ["minimised", "refused"]),
        (("--subject", "person_id=HO-000123"), ["answered", "asked"]),
        (("--subject", "person_id = ho-000123 "), ["answered", "asked"]),
        (("--subject", "upn=A123456789012", "--dept", "dfe"), ["minimised"]),
        (("--subject", "nino=HO-000123"), []),
        (("--limit", "2"), ["dead_letter", "minimised"]),
    ],
)
def test_each_filter_lists_only_the_decisions_it_selects_newest_first(
    store_url: str, decisions: dict[str, AuditRecord], args: tuple[str, ...], expected: list[str]
) -> None:
    assert query(store_url, *args) == ids(decisions, *expected)


def test_the_table_and_csv_formats_list_the_same_decisions_and_never_the_identifier(
    store_url: str, decisions: dict[str, AuditRecord]
) -> None:
    runner = CliRunner()
    base = ["--db", store_url, "--subject", "person_id=HO-000123"]

    table = runner.invoke(query_command, [*base, "--format", "table"], catch_exceptions=False)
    as_csv = runner.invoke(query_command, [*base, "--format", "csv"], catch_exceptions=False)

    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["decision_id"] for r in rows] == ids(decisions, "answered", "asked")
    assert rows[0]["outcome"] == "REDACTED" and rows[1]["fields_released"] == "person_id, surname"
    assert "(2 decision(s); times in UTC)" in table.stdout
    assert decisions["asked"].request_id in table.stdout
    for output in (table.output, as_csv.output):
        assert "HO-000123" not in output.upper()


def test_a_subject_without_a_field_name_is_refused_without_repeating_the_value(
    store_url: str,
) -> None:
    result = CliRunner().invoke(query_command, ["--db", store_url, "--subject", "=HO-000123"])

    assert result.exit_code != 0
    assert "FIELD=VALUE" in str(result.exception)
    assert "HO-000123" not in str(result.exception) + result.output


def test_a_bad_time_is_refused_with_the_form_expected(store_url: str) -> None:
    result = CliRunner().invoke(query_command, ["--db", store_url, "--since", "yesterday"])

    assert "is not ISO 8601" in str(result.exception)


def test_the_gateway_command_offers_query_under_audit() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "audit", "query", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    for option in ("--dept", "--agreement", "--purpose", "--outcome", "--since", "--until",
                   "--subject", "--format", "--limit", "--audit-db"):  # fmt: skip
        assert option in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "query"],
        ["report", "subject", "--id", "person_id=HO-000123"],
        ["report", "transparency", "--period", "2026"],
    ],
    ids=" ".join,
)
def test_reading_commands_refuse_a_store_that_does_not_exist_and_create_none(
    command: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nonexistent.db"

    result = subprocess.run(
        [sys.executable, "-m", "gateway", *command, "--audit-db", f"sqlite:///{missing}"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2, result.stdout
    assert f"no audit store at {missing}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not missing.exists()


def test_a_policy_change_recorded_in_every_audit_partition_is_listed_once(
    store: AuditStore,
    store_url: str,
    record_factory: RecordFactory,
    loadable: Loadable,
    t0: datetime,
) -> None:
    def rejection(partition: int, at: datetime) -> AuditRecord:
        return record_factory(
            at=at,
            stage=AuditStage.POLICY,
            outcome=AuditOutcome.POLICY_REJECTED,
            policy_version="rev-1",
            input_topic="policies:/etc/gateway/policies",
            input_partition=partition,
            input_offset=-1,
            request_id=None,
            requester=None,
            provider=None,
            agreement_id=None,
            purpose=None,
        )

    first = [rejection(p, t0) for p in range(4)]
    second = [rejection(p, t0 + timedelta(hours=1)) for p in range(4)]
    asked = record_factory(at=t0 + timedelta(minutes=30))
    store.load(loadable([*first, asked, *second]))

    listed = query(store_url, "--outcome", "policy_rejected")
    everything = query(store_url)

    assert len(listed) == 2
    assert listed[0] in {r.decision_id for r in second}
    assert listed[1] in {r.decision_id for r in first}
    assert everything == [listed[0], asked.decision_id, listed[1]]
    assert store.count() == 9  # each partition's chain keeps its own record
    each = store.decisions(DecisionQuery(policy_changes_once=False))
    assert len(each) == 9
