"""``gateway bench``: raw pass-through against the full gateway path on the embedded broker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from gateway.bench import BenchConfig, BenchError, run_bench
from gateway.cli._common import configure_logging

__all__ = ["bench_command"]


@click.command("bench")
@click.option("--messages", type=click.IntRange(min=1), default=20_000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option(
    "--latency-messages", type=click.IntRange(min=1), help="Default: min(2000, --messages)."
)
@click.option(
    "--latency-rate",
    type=click.FloatRange(min=0, min_open=True),
    help="Requests/s for the latency probe. Default: 20%% of the measured capacity, at most 500.",
)
@click.option("--partitions", type=click.IntRange(1, 256), help="Default: 1 per 2,500 messages.")
@click.option("--cpu", type=click.IntRange(min=0), help="CPU for the measured worker.")
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds per phase.")
@click.option(
    "--profile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write cProfile stats of the gateway's throughput phase to this file.",
)
@click.option(
    "--compare-metrics",
    is_flag=True,
    help="Also measure the gateway's throughput with and without its metrics, alternately.",
)
def bench_command(as_json: bool, timeout: float | None, **options: Any) -> None:
    """Measure raw aiokafka pass-through and the gateway's full path on one core.

    Checks that every message arrived (every request answered once, one audit record per
    record consumed, nothing lost to the embedded broker's retention) and exits non-zero if not.
    """
    configure_logging(False)
    config = BenchConfig(timeout_s=timeout, **options)
    try:
        report = asyncio.run(run_bench(config))
    except BenchError as exc:
        if exc.report is not None:
            _show(exc.report, as_json)
        raise
    _show(report, as_json)
    if config.profile is not None and not as_json:
        click.echo(f"profile: {config.profile} (python -m pstats {config.profile})", err=True)


def _show(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report))
        return
    gateway, latency, cpu = report["gateway"], report["latency"], report["cpu"]
    table = Table(title=f"gateway bench: {report['messages']:,} messages", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column(style="dim")
    goal = "meets" if report["ratio"] >= report["goal_ratio"] else "below"
    rows = [
        (
            "passthrough_msgs_per_s",
            f"{report['passthrough_msgs_per_s']:,.0f}",
            "raw aiokafka, median of "
            + " / ".join(f"{rate:,.0f}" for rate in report["passthrough"]["runs_msgs_per_s"]),
        ),
        ("gateway_msgs_per_s", f"{report['gateway_msgs_per_s']:,.0f}", "requests + responses"),
        ("ratio", f"{report['ratio']:.3f}", f"{goal} the goal of {report['goal_ratio']}"),
        ("p50_ms", f"{report['p50_ms']:.1f}", f"request -> reply, {latency['requests']:,} at"),
        ("p99_ms", f"{report['p99_ms']:.1f}", f"{report['latency_rate_per_s']:g}/s"),
        ("processor", f"{gateway['processor_us_per_record']:.0f} µs", "per record consumed"),
        ("kafka and the rest", f"{gateway['other_us_per_record']:.0f} µs", "per record consumed"),
        ("batches", f"{gateway['batches']:,}", f"{gateway['records_per_batch']:g} records each"),
        ("partitions", str(report["partitions"]), "per topic"),
        ("worker cpu", str(cpu["worker"]), "pinned" if cpu["pinned"] else cpu.get("note", "")),
        ("complete", "yes" if report["complete"] else "NO", _checks(report["checks"])),
    ]
    cost = report.get("metrics_cost")
    if cost is not None:
        rows.append(
            (
                "metrics cost",
                f"{cost['cost']:.1%}",
                f"{cost['with_msgs_per_s']:,.0f} msgs/s with metrics, "
                f"{cost['without_msgs_per_s']:,.0f} without (medians)",
            )
        )
        rows.append(
            (
                "metrics cpu cost",
                f"{cost['cpu_cost']:.1%}",
                f"{cost['cpu_us_per_record_with']:.0f} µs CPU per record with, "
                f"{cost['cpu_us_per_record_without']:.0f} without (medians)",
            )
        )
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def _checks(checks: dict[str, int]) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {count:,}" for name, count in checks.items())
