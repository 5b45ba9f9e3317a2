"""``gateway demo``: the whole exchange on the embedded broker, with live counts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
from rich.console import Console

from gateway.cli._common import (
    DEFAULT_METRICS_PORT,
    configure_logging,
    load_settings,
    warn_unknown_variables,
)
from gateway.demo import run_demo
from gateway.demo.run import render_tally
from gateway.transport.audit_log import export_audit
from gateway.transport.topics import TopicNames

__all__ = ["demo_command"]


@click.command("demo")
@click.option("--seconds", default=15.0, show_default=True, help="How long traffic runs.")
@click.option("--rate", default=100.0, show_default=True, help="Requests per second.")
@click.option("--policies", "policies_dir", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--audit-export",
    type=click.Path(dir_okay=False, writable=True),
    help="When the demo ends, write its audit log here (verify it with `gateway audit verify`).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_METRICS_PORT,
    show_default=True,
    help="Serve the gateway's /metrics, /healthz and /readyz here; 0 picks a free port.",
)
@click.option("--no-metrics", is_flag=True, help="Serve no metrics or health endpoints.")
@click.option("--log-format", type=click.Choice(["text", "json"]), help="Default: text.")
@click.option("-v", "--verbose", is_flag=True)
def demo_command(
    seconds: float,
    rate: float,
    verbose: bool,
    policies_dir: str | None,
    audit_export: str | None,
    metrics_port: int,
    no_metrics: bool,
    log_format: str | None,
) -> None:
    """Run broker, gateway, reference departments and traffic; show live counts per agreement.

    Everything runs in this process on the embedded broker (in memory, for development).
    Exits 0 when every request was answered as the traffic plan expected.
    """
    if seconds <= 0 or rate <= 0:
        raise click.BadParameter("--seconds and --rate must be positive")
    settings = load_settings(
        policies_dir=policies_dir,
        metrics_port=None if no_metrics else metrics_port,
        log_format=log_format,
    )
    configure_logging(verbose, settings.log_format, settings.instance_id)
    warn_unknown_variables()
    console = Console() if Console().is_terminal else Console(width=160)
    after = None
    if audit_export is not None:
        path = Path(audit_export)

        async def after(bootstrap: str, topics: TopicNames) -> None:
            exported = await export_audit(bootstrap, topics, path)
            console.print(f"[bold]audit log[/] exported to {path} ({exported.messages} messages)")

    result = asyncio.run(
        run_demo(settings, seconds=seconds, rate=rate, console=console, after=after)
    )
    console.print(render_tally(result.tally))
    summary = result.traffic.summary()
    console.print(
        f"[bold]traffic[/] sent {summary['sent']}, replied {summary['replied']}, "
        f"timeouts {summary['timeouts']}, unexpected {summary['unexpected']}; "
        f"latency p50 {summary['latency_ms']['p50']} ms, p99 {summary['latency_ms']['p99']} ms"
    )
    console.print(f"[bold]outcomes[/] {json.dumps(summary['outcomes'], sort_keys=True)}")
    console.print(f"[bold]answered by department[/] {json.dumps(result.answered_by)}")
    console.print(f"finished in {result.elapsed_s:.1f}s")
    if not result.ok:
        raise click.ClickException("some requests were not answered as expected (see above)")
