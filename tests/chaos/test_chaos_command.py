"""`gateway chaos`: its options reach the campaign, `--json` prints the report as one JSON object,
and the exit status says whether anything was lost, duplicated, wrong or the chain broken."""

from __future__ import annotations

import json

import pytest

from gateway.chaos import CampaignOptions, CampaignReport, Fault
from gateway.cli import chaos as chaos_cli
from gateway.cli import main

FAULT = Fault("gateway_killed", "gw-2", 3.5, "2026-12-03T10:00:00+00:00")


def _campaign(report: CampaignReport, seen: list[CampaignOptions]) -> object:
    async def fake(options: CampaignOptions) -> CampaignReport:
        seen.append(options)
        return report

    return fake


def _clean() -> CampaignReport:
    return CampaignReport(
        sent=10, answered=10, audit_chain_valid=True, audit_records=21, decisions=20, faults=[FAULT]
    )


def test_a_clean_campaign_prints_one_json_object_and_exits_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[CampaignOptions] = []
    monkeypatch.setattr(chaos_cli, "run_campaign", _campaign(_clean(), seen))

    main(["chaos", "--exchanges", "10", "--seed", "4", "--gateways", "2", "--json"])

    out = json.loads(capsys.readouterr().out)
    assert {k: out[k] for k in ("sent", "answered", "lost", "duplicated", "wrong")} == {
        "sent": 10,
        "answered": 10,
        "lost": 0,
        "duplicated": 0,
        "wrong": 0,
    }
    assert (out["audit_chain_valid"], out["audit_records"], out["decisions"]) == (True, 21, 20)
    assert out["faults"] == [
        {"kind": "gateway_killed", "target": "gw-2", "at_s": 3.5, "time": FAULT.time}
    ]
    assert (seen[0].exchanges, seen[0].seed, seen[0].gateways) == (10, 4, 2)


@pytest.mark.parametrize(
    "finding",
    [{"lost": 1}, {"duplicated": 1}, {"wrong": 1}, {"unaudited": 1}, {"audit_chain_valid": False}],
)
def test_a_campaign_that_found_anything_exits_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], finding: dict[str, object]
) -> None:
    report = _clean()
    for name, value in finding.items():
        setattr(report, name, value)
    monkeypatch.setattr(chaos_cli, "run_campaign", _campaign(report, []))

    with pytest.raises(SystemExit) as exited:
        main(["chaos", "--json"])

    assert exited.value.code == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False
