"""``gateway report transparency``: a period's decisions counted per agreement, purpose and
outcome, approved volume against caps, refusal reasons; as Markdown, CSV and HTML with a chart."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.dom import minidom

import pytest
from click.testing import CliRunner

from gateway.audit_store import AuditStore, DecodedRecord
from gateway.audit_store.periods import parse_period
from gateway.audit_store.reports import caps_from_policy
from gateway.cli.report import report_group
from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage, Reason
from gateway.errors import ConfigError
from gateway.policy.tools import load_compiled

RecordFactory = Callable[..., AuditRecord]
Loadable = Callable[..., list[DecodedRecord]]
SHIPPED_POLICIES = Path(__file__).resolve().parents[2] / "policies"
NHS = ("nhs-ho-status-check", "overseas-visitor-charging")
RTW = ("rtw-ho-status-check", "right-to-work")


@pytest.fixture
def november(
    store: AuditStore, record_factory: RecordFactory, loadable: Loadable, t0: datetime
) -> None:
    """In November 2026: three NHS status checks approved (two in one hour), one answered,
    two right-to-work checks refused; and one decision in December, outside the period."""

    def made(agreement: tuple[str, str], at: datetime, **fields: object) -> AuditRecord:
        return record_factory(agreement_id=agreement[0], purpose=agreement[1], at=at, **fields)

    refusal = Reason(code="agreement.status", message="the agreement is suspended")
    store.load(
        loadable(
            [
                made(NHS, t0),
                made(NHS, t0 + timedelta(minutes=10)),
                made(NHS, t0 + timedelta(hours=2)),
                made(NHS, t0, stage=AuditStage.RESPONSE, outcome=AuditOutcome.RELEASED),
                made(RTW, t0, requester="rtw", outcome=AuditOutcome.DENIED, reasons=[refusal]),
                made(RTW, t0, requester="rtw", outcome=AuditOutcome.DENIED, reasons=[refusal]),
                made(NHS, datetime(2026, 12, 1, tzinfo=UTC)),
            ]
        )
    )


def transparency(store_url: str, *args: str) -> str:
    result = CliRunner().invoke(
        report_group,
        ["transparency", "--db", store_url, "--policies", str(SHIPPED_POLICIES), *args],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_decisions_are_counted_per_agreement_purpose_and_outcome_within_the_period(
    store_url: str, november: None
) -> None:
    rows = list(
        csv.DictReader(
            io.StringIO(transparency(store_url, "--period", "2026-11", "--format", "csv"))
        )
    )

    decisions = {
        (r["agreement_id"], r["purpose"], r["outcome"]): int(r["count"])
        for r in rows
        if r["section"] == "decisions"
    }
    assert decisions == {(*NHS, "APPROVED"): 3, (*NHS, "RELEASED"): 1, (*RTW, "DENIED"): 2}
    reasons = [(r["reason_code"], r["count"]) for r in rows if r["section"] == "refusal_reasons"]
    assert reasons == [("agreement.status", "2")]
    approved = {
        (r["agreement_id"], r["purpose"]): int(r["count"])
        for r in rows
        if r["section"] == "approved"
    }
    assert approved[NHS] == 3 and approved[RTW] == 0


def test_the_markdown_report_tables_counts_caps_and_reasons(store_url: str, november: None) -> None:
    text = transparency(store_url, "--period", "2026-11")

    assert text.startswith("# Transparency report: 2026-11\n")
    assert "from 2026-11-01 00:00:00 to 2026-12-01 00:00:00 UTC: 6 in total" in text
    assert "| nhs-ho-status-check | overseas-visitor-charging | 3 | 0 | 1 | 4 |" in text
    assert "| **total** |  | 3 | 2 | 1 | 6 |" in text
    assert "| rtw-ho-status-check | right-to-work | 0 | no cap |  |  |" in text
    assert "| DENIED | agreement.status | rtw-ho-status-check | right-to-work | 2 |" in text


def test_approved_volume_is_measured_against_each_cap_at_its_busiest_window(
    store_url: str, november: None, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(SHIPPED_POLICIES, policies)
    agreement = policies / "nhs-ho-status-check.yaml"
    agreement.write_text(
        agreement.read_text().replace(
            "  - id: overseas-visitor-charging\n",
            "  - id: overseas-visitor-charging\n    caps:\n      per_hour: 2\n      per_day: 2\n",
        )
    )

    text = transparency(store_url, "--period", "2026-11", "--policies", str(policies))

    nhs = "| nhs-ho-status-check | overseas-visitor-charging | 3 |"
    assert f"{nhs} 2 per hour | 2026-11-05 09:00:00: 2 | 100% |" in text
    assert f"{nhs} 2 per day | 2026-11-05 00:00:00: 3 | 150% EXCEEDED |" in text


def test_the_html_report_is_one_self_contained_page_with_an_svg_bar_chart(
    store_url: str, november: None
) -> None:
    page = transparency(store_url, "--period", "2026-Q4", "--format", "html")

    assert page.startswith("<!DOCTYPE html>")
    (svg,) = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    chart = minidom.parseString(svg)
    bars = [r for r in chart.getElementsByTagName("rect") if r.getElementsByTagName("title")]
    assert {b.getElementsByTagName("title")[0].firstChild.data for b in bars} == {
        "nhs-ho-status-check / overseas-visitor-charging: APPROVED 4",
        "nhs-ho-status-check / overseas-visitor-charging: RELEASED 1",
        "rtw-ho-status-check / right-to-work: DENIED 2",
    }
    assert not re.search(r"<script|<link|<img|\ssrc=|\shref=", page)


def test_a_period_without_decisions_still_renders_every_format(store_url: str) -> None:
    for fmt in ("md", "csv", "html"):
        assert transparency(store_url, "--period", "2020", "--format", fmt)
    assert "No decisions in this period." in transparency(
        store_url, "--period", "2020", "--format", "html"
    )


def test_caps_are_read_from_whatever_the_policy_offers_and_absent_caps_mean_none() -> None:
    caps = caps_from_policy(load_compiled(SHIPPED_POLICIES))

    assert caps[NHS] == caps[RTW] == {}  # the shipped agreements set no caps
    assert caps_from_policy(object()) == {}


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ("2026-Q4", datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ("2026-q1", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
        ("2026-11", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ("2026-11-05", datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 11, 6, tzinfo=UTC)),
        (
            "last-30-days",
            datetime(2026, 10, 27, 12, tzinfo=UTC),
            datetime(2026, 11, 26, 12, tzinfo=UTC),
        ),
    ],
)
def test_a_period_is_a_half_open_utc_interval(text: str, start: datetime, end: datetime) -> None:
    period = parse_period(text, now=datetime(2026, 11, 26, 12, tzinfo=UTC))

    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "26", "last-days", "2026-02-30", "Q4"])
def test_an_unreadable_period_is_refused_naming_the_accepted_forms(text: str) -> None:
    with pytest.raises(ConfigError, match="YYYY, YYYY-Qn, YYYY-MM, YYYY-MM-DD or last-N-days"):
        parse_period(text)


def test_a_policy_change_is_listed_once_however_many_audit_partitions_record_it(
    store: AuditStore,
    store_url: str,
    record_factory: RecordFactory,
    loadable: Loadable,
    t0: datetime,
) -> None:
    change = {
        "stage": AuditStage.POLICY,
        "outcome": AuditOutcome.POLICY_APPLIED,
        "policy_version": "rev-2",
        "request_id": None,
        "requester": None,
        "provider": None,
        "agreement_id": None,
        "purpose": None,
    }
    store.load(
        loadable(
            [
                *(record_factory(at=t0 + timedelta(milliseconds=p), **change) for p in range(4)),
                record_factory(at=t0 + timedelta(minutes=5)),
            ]
        )
    )

    text = transparency(store_url, "--period", "2026-11-05")
    rows = list(
        csv.DictReader(io.StringIO(transparency(store_url, "--period", "2026", "--format", "csv")))
    )

    assert "| 2026-11-05 09:30:00 | POLICY_APPLIED | rev-2 |" in text
    assert "1 in total" in text  # the policy change is not counted as a decision
    assert [
        (r["section"], r["policy_version"]) for r in rows if r["outcome"] == "POLICY_APPLIED"
    ] == [("policy_changes", "rev-2")]
