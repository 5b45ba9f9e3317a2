"""``gateway report subject``: a person finds every department that asked about them, why, what
was decided and which fields were released, by identifier, and sees names, never values."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.audit_store import AuditStore, DecodedRecord
from gateway.cli.report import report_group
from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage, Reason

RecordFactory = Callable[..., AuditRecord]
Loadable = Callable[..., list[DecodedRecord]]
PERSON = ("nhs_number", "9990001234")


@pytest.fixture
def history(
    store: AuditStore, record_factory: RecordFactory, loadable: Loadable, t0: datetime
) -> dict[str, AuditRecord]:
    """The person was asked about twice (once answered, once refused); someone else once."""
    asked = record_factory(
        subject=PERSON,
        at=t0,
        requester="ho",
        provider="nhs",
        agreement_id="ho-nhs-debtor-reporting",
        purpose="immigration-application-debt-check",
        fields_released=["nhs_number", "date_of_birth"],
    )
    made = {
        "asked": asked,
        "answered": record_factory(
            subject=PERSON,
            at=t0 + timedelta(seconds=2),
            request_id=asked.request_id,
            requester="ho",
            provider="nhs",
            agreement_id="ho-nhs-debtor-reporting",
            purpose="immigration-application-debt-check",
            stage=AuditStage.RESPONSE,
            outcome=AuditOutcome.REDACTED,
            fields_released=["outstanding_debt_gbp", "debt_since"],
            fields_withheld=["diagnosis"],
        ),
        "repeat": record_factory(
            subject=PERSON,
            at=t0 + timedelta(seconds=3),
            request_id=asked.request_id,
            requester="ho",
            outcome=AuditOutcome.DUPLICATE,
        ),
        "refused": record_factory(
            subject=PERSON,
            at=t0 + timedelta(days=3),
            requester="ho",
            provider="nhs",
            agreement_id="ho-nhs-tracing-withdrawn",
            purpose="immigration-enforcement-tracing",
            outcome=AuditOutcome.DENIED,
            reasons=[Reason(code="purpose.prohibited", message="tracing was withdrawn in 2018")],
            fields_released=[],
        ),
        "someone_else": record_factory(subject=("nhs_number", "9990009999")),
    }
    store.load(loadable(list(made.values())))
    return made


def report(store_url: str, identifier: str, fmt: str, tmp_path: Path | None = None) -> Result:
    args = ["subject", "--db", store_url, "--id", identifier, "--format", fmt]
    if tmp_path is not None:
        args += ["-o", str(tmp_path / f"report.{fmt}")]
    return CliRunner().invoke(report_group, args, catch_exceptions=False)


def test_the_report_finds_every_request_about_the_person_by_their_identifier(
    store_url: str, history: dict[str, AuditRecord]
) -> None:
    data = json.loads(report(store_url, "nhs_number=999 000 1234", "json").stdout)

    assert data["departments"] == ["ho"]
    answered, refused = data["exchanges"]
    assert answered["request_id"] == history["asked"].request_id
    assert answered["agreement_id"] == "ho-nhs-debtor-reporting"
    assert answered["purpose"] == "immigration-application-debt-check"
    assert (answered["decision"], answered["answer"]) == ("APPROVED", "REDACTED")
    assert answered["fields_sent"] == ["nhs_number", "date_of_birth"]
    assert answered["fields_released"] == ["outstanding_debt_gbp", "debt_since"]
    assert answered["fields_withheld"] == ["diagnosis"]
    assert answered["repeats"] == 1
    assert (refused["decision"], refused["answer"]) == ("DENIED", None)
    assert refused["reasons"] == [
        {"code": "purpose.prohibited", "message": "tracing was withdrawn in 2018"}
    ]
    assert refused["fields_released"] == []


def test_an_answer_that_names_no_subject_still_belongs_to_the_persons_request(
    store: AuditStore,
    store_url: str,
    record_factory: RecordFactory,
    loadable: Loadable,
) -> None:
    asked = record_factory(subject=PERSON)
    not_found = record_factory(
        request_id=asked.request_id,
        stage=AuditStage.RESPONSE,
        outcome=AuditOutcome.RELEASED,
        reasons=[Reason(code="response.no_record", message="no record for this subject")],
        fields_released=[],
    )
    store.load(loadable([asked, not_found]))

    (exchange,) = json.loads(report(store_url, "nhs_number=9990001234", "json").stdout)["exchanges"]

    assert exchange["answer"] == "RELEASED"
    assert exchange["fields_released"] == []


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_every_format_names_fields_and_departments_but_never_the_identifier(
    store_url: str, history: dict[str, AuditRecord], fmt: str, tmp_path: Path
) -> None:
    result = report(store_url, "nhs_number=9990001234", fmt, tmp_path)
    text = (tmp_path / f"report.{fmt}").read_text(encoding="utf-8")

    assert "wrote" in result.output and "2 request(s)" in result.output
    assert "9990001234" not in text and "999 000 1234" not in text
    for shown in (
        "outstanding_debt_gbp",
        "ho-nhs-debtor-reporting",
        "immigration-enforcement-tracing",
        "tracing was withdrawn in 2018",
    ):
        assert shown in text


def test_a_person_nobody_asked_about_gets_a_report_that_says_so(
    store_url: str, history: dict[str, AuditRecord]
) -> None:
    result = report(store_url, "nhs_number=1112223333", "md")

    assert "No department has asked about this person." in result.stdout


def test_the_identifier_is_never_written_to_the_store(
    tmp_path: Path, record_factory: RecordFactory, loadable: Loadable
) -> None:
    from gateway.audit_store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    store.load(loadable([record_factory(subject=PERSON)]))
    store.close()

    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"9990001234" not in stored


def test_a_field_given_alone_is_asked_for_its_value_which_is_not_echoed(
    store_url: str, history: dict[str, AuditRecord]
) -> None:
    result = CliRunner().invoke(
        report_group,
        ["subject", "--db", store_url, "--id", "nhs_number", "--format", "json"],
        input="9990001234\n",
        catch_exceptions=False,
    )

    assert "9990001234" not in result.output
    assert json.loads(result.stdout)["departments"] == ["ho"]
