"""gateway register: every agreement, in Markdown, HTML, JSON or CSV, with usage when asked."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from policy_tools_support import SHIPPED, AuditFactory, register, write_audit_export

from gateway.policy.tools import build_register, load_compiled, usage_from_records

IDS = [a.id for a in load_compiled(SHIPPED).agreements]


def test_json_lists_every_agreement_with_its_parties_basis_and_dates() -> None:
    result = register("--policies", SHIPPED, "--format", "json", "--today", "2026-01-01")

    document = json.loads(result.stdout)
    assert [a["id"] for a in document["agreements"]] == IDS
    census = document["agreements"][IDS.index("ho-dfe-school-census")]
    assert census["requester"] == "ho" and census["provider"] == "dfe"
    assert census["legal_basis"].startswith("Education Act 1996")
    assert census["reference"].startswith("MoU HO-DFE/2015/03")
    assert census["owner"].startswith("Immigration Enforcement")
    assert census["purposes"] == ["locate-immigration-offender"]
    assert (census["status"], census["in_force"]) == ("active", True)
    assert (census["valid_from"], census["valid_until"], census["review_by"]) == (
        "2015-06-01",
        "2027-12-31",
        "2026-12-31",
    )
    assert census["usage"] is None


def test_csv_has_a_header_and_one_row_per_agreement() -> None:
    result = register("--policies", SHIPPED, "--format", "csv")

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["id"] for row in rows] == IDS
    assert rows[IDS.index("rtw-ho-status-check")]["purposes"] == "right-to-work; right-to-rent"
    assert "requests" not in rows[0]


def test_markdown_is_a_table_with_a_row_per_agreement() -> None:
    result = register("--policies", SHIPPED)

    table = [line for line in result.stdout.splitlines() if line.startswith("|")]
    assert table[0].startswith("| id | title | requester | provider | status |")
    assert set(table[1]) == {"|", "-"}
    assert [row.split("|")[1].strip() for row in table[2:]] == [f"`{i}`" for i in IDS]


def test_html_is_one_self_contained_page_naming_every_agreement(tmp_path: Path) -> None:
    page = tmp_path / "register.html"

    result = register("--policies", SHIPPED, "--format", "html", "--output", page)

    html = page.read_text(encoding="utf-8")
    assert result.exit_code == 0
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html
    for agreement_id in IDS:
        assert f'<tr id="{agreement_id}"' in html
    for external in ("http:", "https:", "<link", "<script", "src="):
        assert external not in html


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_usage_is_counted_per_agreement_from_an_audit_source(
    tmp_path: Path, audit_record: AuditFactory, fmt: str
) -> None:
    records = [
        audit_record("rtw-ho-status-check", "right-to-work", "APPROVED"),
        audit_record("rtw-ho-status-check", "right-to-work", "APPROVED_MINIMISED"),
        audit_record("rtw-ho-status-check", "right-to-rent", "DENIED"),
        audit_record("rtw-ho-status-check", "right-to-work", "REDACTED", stage="RESPONSE"),
        audit_record("rtw-ho-status-check", "right-to-work", "DUPLICATE"),
    ]
    export = write_audit_export(tmp_path / "export.jsonl", records)

    result = register("--policies", SHIPPED, "--format", fmt, "--audit", export)

    if fmt == "json":
        rows = {a["id"]: a["usage"] for a in json.loads(result.stdout)["agreements"]}
    else:
        rows = {r["id"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    rtw, census = rows["rtw-ho-status-check"], rows["ho-dfe-school-census"]
    counts = {key: int(rtw[key]) for key in ("requests", "approved", "denied", "answered")}
    assert counts == {"requests": 3, "approved": 2, "denied": 1, "answered": 1}
    assert int(census["requests"]) == 0


def test_the_register_says_which_agreements_are_in_force_on_its_date() -> None:
    policy = load_compiled(SHIPPED)

    register_ = build_register(policy, usage_from_records([]))

    in_force = {e.id for e in register_.entries if e.in_force}
    assert "dwp-ho-interview-pilot" not in in_force
    assert "rtw-ho-status-check" in in_force
    assert register_.with_usage
