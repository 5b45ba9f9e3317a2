"""``gateway bench``: raw pass-through against the full gateway path on the embedded broker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from gateway.bench.driver import BenchConfig, run_bench
from gateway.bench.errors import BenchError
from gateway.bench.report import stage_summary
from gateway.logs import configure_logging

__all__ = ["bench_command", "render_report"]


@click.command("bench", short_help="Measure gateway throughput against Kafka.")
@click.option(
    "--messages",
    type=click.IntRange(min=1),
    default=20_000,
    show_default=True,
    help="Requests for the throughput phases (pass-through and gateway); the gateway also "
    "consumes one response per request.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option(
    "--latency-messages",
    type=click.IntRange(min=1),
    help="Requests for the latency phase, sent at a steady rate after the throughput phases.",
    show_default="min(2000, --messages)",
)
@click.option(
    "--latency-rate",
    type=click.FloatRange(min=0, min_open=True),
    help="Requests/s for the latency phase.",
    show_default="a fifth of the measured capacity, at most 500",
)
@click.option(
    "--partitions",
    type=click.IntRange(1, 256),
    help="Partitions per topic.",
    show_default="1 per 2,500 messages",
)
@click.option("--cpu", type=click.IntRange(min=0), help="CPU to pin the measured worker to.")
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds each phase may take.")
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
@click.option(
    "--compare-transactions",
    is_flag=True,
    help="Also measure it on Apache Kafka (started for the purpose; needs Java) with and "
    "without transactions, alternately.",
)
@click.option(
    "--runner-floor",
    is_flag=True,
    help="Also measure the runner's own cost per record: the gateway's outputs, precomputed, "
    "written by a bare loop and by the runner with a zero-cost processor, alternately.",
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
    Console().print(render_report(report))


def _stage_rows(gateway: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The wall time per record of the runner's stages, where the report has them."""
    stages = gateway.get("stages_us_per_record")
    if not stages:
        return []
    return [("runner stages", f"{sum(stages.values()):.0f} µs", f"{stage_summary(stages)} µs")]


def render_report(report: dict[str, Any]) -> Group:
    """The report, phase by phase: what each phase did, and what it measured."""
    gateway, latency, cpu = report["gateway"], report["latency"], report["cpu"]
    n, probe = report["messages"], latency["requests"]
    goal = "meets" if report["ratio"] >= report["goal_ratio"] else "below"
    runs = " / ".join(f"{rate:,.0f}" for rate in report["passthrough"]["runs_msgs_per_s"])
    sections: list[tuple[str, list[tuple[str, str, str]]]] = [
        (
            "1. pass-through: raw aiokafka consume and produce",
            [("msgs/s", f"{report['passthrough_msgs_per_s']:,.0f}", f"median of {runs}")],
        ),
        (
            "2. gateway: the same requests through the full path",
            [
                ("msgs/s", f"{report['gateway_msgs_per_s']:,.0f}", "requests + responses"),
                ("ratio", f"{report['ratio']:.3f}", f"{goal} the goal of {report['goal_ratio']}"),
                ("processor", f"{gateway['processor_us_per_record']:.0f} µs", "per record"),
                ("kafka, the rest", f"{gateway['other_us_per_record']:.0f} µs", "per record"),
                *_stage_rows(gateway),
                ("batches", f"{gateway['batches']:,}", f"{gateway['records_per_batch']:g} each"),
            ],
        ),
        (
            f"3. latency: {probe:,} more requests at {report['latency_rate_per_s']:g}/s",
            [
                ("p50", f"{report['p50_ms']:.1f} ms", "request -> reply"),
                ("p99", f"{report['p99_ms']:.1f} ms", ""),
            ],
        ),
        (
            "4. decision caches: cold as in 2, warm, and a realistic mix",
            [_cache_row(name, phase) for name, phase in report["decision_caches"].items()],
        ),
        (
            f"checks: all phases ({n:,} + {probe:,} requests)",
            [
                ("complete", "yes" if report["complete"] else "NO", _checks(report["checks"])),
                ("partitions", str(report["partitions"]), "per topic"),
                (
                    "worker cpu",
                    str(cpu["worker"]),
                    "pinned" if cpu["pinned"] else cpu.get("note", ""),
                ),
            ],
        ),
    ]
    cost = report.get("metrics_cost")
    if cost is not None:
        sections.append(
            (
                "5. metrics: the gateway's throughput with and without them, alternately",
                [
                    (
                        "cost",
                        f"{cost['cost']:.1%}",
                        f"{cost['with_msgs_per_s']:,.0f} msgs/s with metrics, "
                        f"{cost['without_msgs_per_s']:,.0f} without (medians)",
                    ),
                    (
                        "cpu cost",
                        f"{cost['cpu_cost']:.1%}",
                        f"{cost['cpu_us_per_record_with']:.0f} µs CPU per record with, "
                        f"{cost['cpu_us_per_record_without']:.0f} without (medians)",
                    ),
                ],
            )
        )
    transactions = report.get("transactions_cost")
    if transactions is not None:
        sections.append(
            (
                "6. transactions: the gateway on Apache Kafka with and without them, alternately",
                [
                    (
                        "cost",
                        f"{transactions['cost']:.1%}",
                        f"{transactions['with_msgs_per_s']:,.0f} msgs/s with, "
                        f"{transactions['without_msgs_per_s']:,.0f} without (medians)",
                    ),
                    (
                        "cpu cost",
                        f"{transactions['cpu_cost']:.1%}",
                        f"{transactions['cpu_us_per_record_with']:.0f} µs CPU per record with, "
                        f"{transactions['cpu_us_per_record_without']:.0f} without; "
                        f"{transactions['broker']}",
                    ),
                ],
            )
        )
    floor = report.get("runner_floor")
    if floor is not None:
        sections.append(
            (
                "6. runner floor: the same outputs, precomputed, by a bare loop and the runner",
                [
                    (
                        "pass-through",
                        f"{floor['passthrough_us_per_record']:.1f} µs",
                        f"per record; CPU {floor['passthrough_cpu_us_per_record']:.1f} µs",
                    ),
                    (
                        "runner",
                        f"{floor['runner_us_per_record']:.1f} µs",
                        f"zero-cost processor; CPU {floor['runner_cpu_us_per_record']:.1f} µs",
                    ),
                    (
                        "runner's own",
                        f"{floor['overhead_us_per_record']:.1f} µs",
                        f"CPU {floor['overhead_cpu_us_per_record']:.1f} µs; medians of "
                        f"{len(floor['runs_runner_us'])} runs each",
                    ),
                ],
            )
        )
    title = f"gateway bench: {n:,} requests per throughput phase, {probe:,} in the latency phase"
    parts: list[RenderableType] = [Text(title, style="bold")]
    for heading, rows in sections:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(justify="right", no_wrap=True)
        grid.add_column(style="dim")
        for label, value, note in rows:
            grid.add_row(f"  {label}", value, note)
        parts += [Text(heading, style="underline"), grid]
    return Group(*parts)


def _cache_row(name: str, phase: dict[str, Any]) -> tuple[str, str, str]:
    planned = (
        f"{phase['gateway_msgs_per_s']:,.0f}/s; planned: requests "
        f"{phase['request_hit_rate']:.0%} ({phase['request_plans_compiled']:,} plans), "
        f"responses {phase['response_hit_rate']:.0%}"
    )
    return (name, f"{phase['ratio']:.3f}", planned)


def _checks(checks: dict[str, int]) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {count:,}" for name, count in checks.items())
