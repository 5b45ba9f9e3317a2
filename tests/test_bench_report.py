"""The README's benchmark table is the renderer's output for the stored report, so it cannot
drift from what was measured, and the renderer puts the side-by-side ratio first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.bench.report import BEGIN, END, render_table, update_readme

ROOT = Path(__file__).resolve().parents[1]
STORED = ROOT / "docs" / "benchmarks" / "latest.json"


def test_the_readme_table_is_the_rendering_of_the_stored_report() -> None:
    table = render_table(json.loads(STORED.read_text()))
    readme = (ROOT / "README.md").read_text()
    assert f"{BEGIN}\n{table}{END}" in readme


def test_the_ratio_is_the_first_row_and_the_conditions_are_given() -> None:
    report = json.loads(STORED.read_text())
    rows = render_table(report).splitlines()
    assert rows[2].startswith("| gateway / pass-through, side by side |")
    assert f"{report['ratio']:.3f}" in rows[2]
    assert "load average at start" in rows[-1]


def test_the_ratio_with_each_state_of_the_decision_caches_follows_the_headline() -> None:
    report = json.loads(STORED.read_text())
    rows = render_table(report).splitlines()
    for row, (name, phase) in zip(rows[3:6], report["decision_caches"].items(), strict=True):
        assert row.startswith(f"| ratio, decision caches {name} | {phase['ratio']:.3f} |")


def test_the_pass_through_with_the_gateways_hashes_follows_the_bare_one() -> None:
    report = json.loads(STORED.read_text())
    rows = render_table(report).splitlines()
    hashed = report["passthrough_gateway_hashes"]
    assert rows[6].startswith("| pass-through (raw aiokafka) |")
    assert rows[7].startswith(
        f"| pass-through, the gateway's C murmur2 | {hashed['msgs_per_s']:,.0f} msgs/s |"
    )
    assert f"the gateway against it: {hashed['gateway_ratio']:.3f}" in rows[7]


def test_updating_replaces_only_the_marked_section() -> None:
    readme = f"intro\n{BEGIN}\nold table\n{END}\nrest\n"
    assert update_readme(readme, "| new |\n") == f"intro\n{BEGIN}\n| new |\n{END}\nrest\n"
    with pytest.raises(ValueError, match="no"):
        update_readme("no markers here", "| new |\n")
