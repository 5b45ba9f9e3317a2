"""``gateway run``: the gateway itself, on an existing cluster or on the embedded broker."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import click

from gateway.cli._common import (
    DEFAULT_METRICS_PORT,
    configure_logging,
    load_settings,
    stop_on_signals,
    warn_unknown_variables,
)
from gateway.service import running_gateway
from gateway.settings import GatewaySettings

__all__ = ["run_command"]

log = logging.getLogger("gateway")


@click.command("run")
@click.option("--bootstrap", help="Kafka bootstrap servers; omit to start the embedded broker.")
@click.option("--policies", "policies_dir", type=click.Path(file_okay=False), help="Agreements.")
@click.option("--prefix", "topic_prefix", help="Topic name prefix (default dx).")
@click.option("--instance", "instance_id", help="This instance's name in audit records.")
@click.option("--partitions", type=int, help="Partitions per topic (embedded broker only).")
@click.option("--group", "group_id", help="Consumer group shared by gateway instances.")
@click.option(
    "--shard",
    help="I/N: own input partitions p with p % N == I instead of group rebalancing.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_METRICS_PORT,
    show_default=True,
    help="Serve /metrics, /healthz and /readyz here; 0 picks a free port. See --no-metrics.",
)
@click.option("--metrics-host", help="Address to serve them on (default 127.0.0.1).")
@click.option("--no-metrics", is_flag=True, help="Serve no metrics or health endpoints.")
@click.option("--log-format", type=click.Choice(["text", "json"]), help="Default: text.")
@click.option("-v", "--verbose", is_flag=True)
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
