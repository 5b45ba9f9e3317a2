"""``gateway demo``: the whole exchange on the embedded broker, with live counts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
from rich.console import Console

from gateway.cli._common import load_settings, warn_unknown_variables
from gateway.cli._options import (
    log_format_option,
    metrics_port_option,
    no_metrics_option,
    policies_option,
    verbose_option,
)
from gateway.demo import run_demo
from gateway.demo.summary import render_summary, render_tally, summary_dict
from gateway.logs import configure_logging
from gateway.transport.audit_log import export_audit
from gateway.transport.topics import TopicNames

__all__ = ["demo_command"]


@click.command("demo", short_help="Run the whole exchange end to end.")
@click.option("--seconds", default=15.0, show_default=True, help="How long traffic runs.")
@click.option("--rate", default=100.0, show_default=True, help="Requests per second.")
@policies_option("Agreements the demo's gateway enforces.", dest="policies_dir")
@click.option(
    "--audit-export",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="When the demo ends, write its audit log here (verify it with `gateway audit verify`).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print only the summary, as one JSON object on stdout (progress goes to stderr).",
)
@metrics_port_option()
@no_metrics_option()
@log_format_option()
@verbose_option()
def demo_command(
    seconds: float,
    rate: float,
    verbose: bool,
    policies_dir: Path | None,
    audit_export: Path | None,
    as_json: bool,
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
    console = Console(stderr=True) if as_json else Console()
    after = None
    if audit_export is not None:
        path = audit_export

        async def after(bootstrap: str, topics: TopicNames) -> None:
            exported = await export_audit(bootstrap, topics, path)
            console.print(f"[bold]audit log[/] exported to {path} ({exported.messages} messages)")

    result = asyncio.run(
        run_demo(settings, seconds=seconds, rate=rate, console=console, after=after)
    )
    if as_json:
        click.echo(json.dumps(summary_dict(result)))
    else:
        console.print(render_tally(result.tally))
        console.print(render_summary(result), highlight=False)
    if not result.ok:
        raise click.ClickException("some requests were not answered as expected (see above)")
