"""``gateway run``: the gateway itself, on an existing cluster or on the embedded broker."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import click

from gateway import collector
from gateway.cli._common import load_settings, stop_on_signals, warn_unknown_variables
from gateway.cli._options import (
    bootstrap_option,
    log_format_option,
    metrics_port_option,
    no_metrics_option,
    partitions_option,
    policies_option,
    prefix_option,
    verbose_option,
)
from gateway.logs import configure_logging
from gateway.service import running_gateway
from gateway.settings import GatewaySettings

__all__ = ["run_command"]

log = logging.getLogger("gateway")


@click.command("run", short_help="Run the exchange gateway.")
@bootstrap_option("Kafka bootstrap servers; unset, the gateway starts the embedded broker.")
@policies_option("Agreements to enforce.", dest="policies_dir", exists=False)
@prefix_option("topic_prefix")
@click.option(
    "--instance",
    "instance_id",
    help="This instance's name in audit records.",
    show_default="GATEWAY_INSTANCE_ID",
)
@partitions_option("Partitions per gateway topic (embedded broker only).")
@click.option(
    "--group",
    "group_id",
    help="Consumer group shared by gateway instances.",
    show_default="GATEWAY_GROUP_ID, dx-gateway",
)
@click.option(
    "--shard",
    metavar="I/N",
    help="Own input partitions p with p % N == I instead of group rebalancing.",
)
@metrics_port_option()
@click.option(
    "--metrics-host",
    metavar="HOST",
    help="The address the metrics port listens on (0.0.0.0 for a scraper elsewhere).",
    show_default="GATEWAY_METRICS_HOST, 127.0.0.1",
)
@no_metrics_option()
@log_format_option()
@verbose_option()
def run_command(verbose: bool, no_metrics: bool, **options: Any) -> None:
    """Run the exchange gateway until SIGINT or SIGTERM."""
    if no_metrics:
        options["metrics_port"] = None
    settings = load_settings(**options)
    configure_logging(verbose, settings.log_format, settings.instance_id)
    warn_unknown_variables()
    asyncio.run(_run(settings))


async def _run(settings: GatewaySettings) -> None:
    stop = stop_on_signals()
    async with running_gateway(settings, stop) as gw:
        collector.settle()  # everything is built: start-up objects need no more collecting
        where = "embedded broker" if gw.broker else "Kafka"
        click.echo(f"bootstrap={gw.bootstrap}", err=False)
        log.info(
            "gateway %s running on %s %s; policy set %s; departments %s",
            settings.instance_id,
            where,
            gw.bootstrap,
            gw.runner.processor.policy.version,
            ",".join(settings.departments),
        )
        if gw.metrics_address is not None:
            host, port = gw.metrics_address
            click.echo(f"metrics=http://{host}:{port}/metrics")
        await stop.wait()
    stats = gw.runner.stats
    log.info("stopped after %d records in %d batches", stats.records_in, stats.batches)
