"""deploy/: the Prometheus rules and the Grafana dashboard name only metrics the gateway exports,
the alerts the operators rely on are all there, and promtool accepts the files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.operations.metrics import METRIC_NAMES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "dx-gateway.json"
_SERIES = re.compile(r"\b(dx_gateway_[a-z0-9_]+)")
_HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def _exported(series: str) -> bool:
    """A series the gateway exports: a family, or a histogram family's bucket, sum or count."""
    return series in METRIC_NAMES or any(
        series.endswith(part) and series[: -len(part)] in METRIC_NAMES for part in _HISTOGRAM_PARTS
    )


def _rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_metric_named_is_one_the_gateway_exports(source: str) -> None:
    exprs = [r["expr"] for r in _rules()] if source == "rules" else _dashboard_exprs()
    named = {m for expr in exprs for m in _SERIES.findall(expr)}
    assert named, f"the {source} name no gateway metric at all"
    assert sorted(m for m in named if not _exported(m)) == []


def test_the_alerts_cover_what_an_operator_must_hear_about() -> None:
    alerts = {r["alert"]: r["expr"] for r in _rules()}
    assert {
        "GatewayDown",
        "GatewayAuditLogUnavailable",
        "GatewayLagGrowing",
        "GatewayDeadLettersRising",
        "GatewayAuditCheckpointTooOld",
        "GatewayPolicyReloadRejected",
    } <= set(alerts)
    assert "up{" in alerts["GatewayDown"]


def test_the_dashboard_shows_every_counter_family() -> None:
    """Decisions, dead letters, fields, records in and out, lag and latency all have a panel."""
    shown = {m for expr in _dashboard_exprs() for m in _SERIES.findall(expr)}
    for family in (
        "dx_gateway_decisions_total",
        "dx_gateway_dead_letters_total",
        "dx_gateway_response_fields_total",
        "dx_gateway_records_in_total",
        "dx_gateway_records_out_total",
        "dx_gateway_consumer_lag_records",
        "dx_gateway_stage_duration_seconds_bucket",
    ):
        assert family in shown


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool missing (apt: prometheus)")
def test_promtool_accepts_the_rules_and_the_scrape_config(tmp_path: Path) -> None:
    rules = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr
    # The config names the rules where the container mounts them; check it against a copy.
    shutil.copy(RULES, tmp_path / "alerts.yml")
    config = tmp_path / "prometheus.yml"
    config.write_text(CONFIG.read_text().replace("/etc/prometheus/alerts.yml", "alerts.yml"))
    checked = subprocess.run(
        ["promtool", "check", "config", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
