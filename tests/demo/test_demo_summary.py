"""The demo's tables and summary as a person reads them, at 80 and 120 columns."""

from __future__ import annotations

import io
import itertools
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console, RenderableType

from gateway.demo.run import DemoResult
from gateway.demo.summary import render_summary, render_tally, summary_dict
from gateway.demo.tally import AuditTally
from gateway.departments.traffic import TrafficStats
from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage, Reason

AGREEMENTS = (
    "ho-nhs-tracing-withdrawn",
    "ho-nhs-debtor-reporting",
    "dwp-ho-interview-pilot",
    "rtw-ho-status-check",
)
_sequence = itertools.count()


def record(agreement_id: str, outcome: AuditOutcome, *codes: str, **fields: Any) -> AuditRecord:
    n = next(_sequence)
    response = outcome in (AuditOutcome.RELEASED, AuditOutcome.REDACTED)
    return AuditRecord(
        prev_hash="0" * 64,
        sequence=n,
        decision_id=uuid.uuid4().hex,
        request_id=uuid.uuid4().hex,
        stage=AuditStage.RESPONSE if response else AuditStage.REQUEST,
        at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        requester="ho",
        provider="nhs",
        agreement_id=agreement_id,
        purpose="immigration-application-debt-check",
        outcome=outcome,
        reasons=[Reason(code=code, message=code) for code in codes or ("agreement.allows",)],
        policy_version="test",
        input_topic="dx.requests.ho",
        input_partition=0,
        input_offset=n,
        gateway_instance="gateway-test",
        **fields,
    )


@pytest.fixture
def tally() -> AuditTally:
    tally = AuditTally()
    for agreement_id in AGREEMENTS:
        for _ in range(3):
            tally.add(record(agreement_id, AuditOutcome.APPROVED))
            tally.add(record(agreement_id, AuditOutcome.REDACTED, fields_withheld=["address"]))
        tally.add(record(agreement_id, AuditOutcome.APPROVED_MINIMISED))
        tally.add(record(agreement_id, AuditOutcome.RELEASED))
        # one denial, two reasons: the reason counts add up to more than the denials
        tally.add(
            record(agreement_id, AuditOutcome.DENIED, "agreement.expired", "agreement.status")
        )
    return tally


@pytest.fixture
def result(tally: AuditTally) -> DemoResult:
    traffic = TrafficStats(sent=20, timeouts=0)
    traffic.outcomes.update({"APPROVED": 4, "REDACTED": 12, "DENIED": 4})
    traffic.statuses.update({"FOUND": 15, "NOT_FOUND": 1})
    traffic.latencies_ms.extend([90.0, 110.0, 250.0])
    return DemoResult(traffic=traffic, tally=tally, answered_by={"nhs": 16}, elapsed_s=3.2)


def rendered(renderable: RenderableType, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize("width", [80, 120])
def test_the_live_tables_show_every_agreement_id_and_reason_whole_within_the_width(
    tally: AuditTally, width: int
) -> None:
    text = rendered(render_tally(tally), width)

    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text
    for agreement_id in AGREEMENTS:
        assert text.count(agreement_id) == 4  # requests, answers, a row per denial reason
    assert "agreement.expired" in text and "agreement.status" in text
    assert "a denial can give more than one reason" in text


@pytest.mark.parametrize("width", [80, 120])
def test_the_summary_labels_gateway_decisions_apart_from_what_requesters_saw(
    result: DemoResult, width: int
) -> None:
    text = rendered(render_summary(result), width)
    words = " ".join(text.split())

    assert max(len(line) for line in text.splitlines()) <= width
    assert "requests 20 decided: 16 approved (4 of them minimised), 4 denied" in words
    assert "(a denial can give more than one reason)" in words
    assert "Requesters" in words and "16 with an answer" in words
    assert "{" not in text  # no raw dicts


def test_the_json_summary_holds_the_same_figures_for_machines(result: DemoResult) -> None:
    data = json.loads(json.dumps(summary_dict(result)))

    assert data["ok"] is True
    assert data["gateway"]["approved"] == 16
    assert data["gateway"]["denied"] == 4
    assert data["gateway"]["denial_reasons"] == {"agreement.expired": 4, "agreement.status": 4}
    assert data["gateway"]["per_agreement"]["rtw-ho-status-check"]["fields_withheld"] == {
        "address": 3
    }
    assert data["requesters"]["sent"] == 20
