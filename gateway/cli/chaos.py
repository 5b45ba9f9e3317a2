"""``gateway chaos``: the reliability campaign on a three-node Apache Kafka cluster.

Progress goes to stderr; stdout gets a summary, or with ``--json`` only the report as one JSON
object. The exit status is 1 when anything was lost, duplicated or wrong, or an audit chain is
broken.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from gateway.chaos import CampaignOptions, CampaignReport, run_campaign
from gateway.cli._common import load_settings
from gateway.cli._options import partitions_option, verbose_option
from gateway.logs import configure_logging

__all__ = ["chaos_command"]


@click.command("chaos", short_help="Reliability campaign: faults on three Kafka nodes.")
@click.option("--exchanges", default=2000, show_default=True, type=click.IntRange(min=1),
              help="Requests to send (the long run: 100000).")  # fmt: skip
@click.option("--rate", default=100.0, show_default=True, type=click.FloatRange(min=1),
              help="Requests per second.")  # fmt: skip
@click.option("--seed", default=1, show_default=True, help="Draws the traffic and the faults.")
@click.option("--gateways", default=3, show_default=True, type=click.IntRange(1, 6),
              help="Gateway instances (OS processes) in the group at the start.")  # fmt: skip
@partitions_option()
@click.option(
    "--drain-timeout",
    default=90.0,
    show_default=True,
    help="Seconds without a new reply after which unanswered requests count as lost.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the processes' logs and the audit export here.",
    show_default="a temporary folder, kept only when the campaign fails",
)
@click.option("--json", "as_json", is_flag=True, help="Print only the report, as JSON.")
@verbose_option()
def chaos_command(
    exchanges: int,
    rate: float,
    seed: int,
    gateways: int,
    partitions: int | None,
    drain_timeout: float,
    work_dir: Path | None,
    as_json: bool,
    verbose: bool,
) -> None:
    """Send traffic through gateways on a three-node Kafka while killing gateways and a broker,
    then check every request against every reply and verify the audit chains."""
    configure_logging(verbose)
    settings = load_settings(partitions=partitions)

    def say(line: str) -> None:
        click.echo(line, err=True)

    options = CampaignOptions(
        exchanges=exchanges,
        rate=rate,
        seed=seed,
        gateways=gateways,
        partitions=settings.partitions,
        drain_timeout_s=drain_timeout,
        work_dir=work_dir,
        settings=settings,
        progress=say,
    )
    report = asyncio.run(run_campaign(options))
    if as_json:
        click.echo(json.dumps(report.to_json()))
    else:
        _summary(report)
    if not report.ok:
        sys.exit(1)


def _summary(report: CampaignReport) -> None:
    click.echo(
        f"sent {report.sent}, answered {report.answered}, lost {report.lost}, "
        f"duplicated {report.duplicated}, wrong {report.wrong}, unaudited {report.unaudited}"
    )
    click.echo(
        f"audit: {report.audit_records} records, {report.decisions} decisions, chain "
        f"{'valid' if report.audit_chain_valid else 'BROKEN'}"
    )
    click.echo(f"faults: {', '.join(f'{f.kind} {f.target} at {f.at_s}s' for f in report.faults)}")
    for kind, examples in report.examples.items():
        click.echo(f"{kind}: {'; '.join(examples)}")
    click.echo(f"{'OK' if report.ok else 'FAILED'} in {report.elapsed_s}s")
