"""``gateway broker``: the embedded Kafka-protocol broker with the gateway's topics, until stopped.

The first line on stdout is ``bootstrap=HOST:PORT`` so scripts can read the address; everything
else goes to stderr.
"""

from __future__ import annotations

import asyncio
import textwrap

import click

from gateway.cli._common import load_settings, stop_on_signals
from gateway.cli._options import departments_option, partitions_option, prefix_option
from gateway.embedded.broker import (
    EMBEDDED_BROKER_LIMITS,
    EmbeddedBroker,
    start_gateway_broker,
    wait_until_ready,
)
from gateway.logs import configure_logging
from gateway.settings import GatewaySettings
from gateway.transport.topics import TopicNames

__all__ = ["broker_command"]

_READY_TIMEOUT_S = 10.0


@click.command("broker", short_help="Run the embedded development broker.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Listen on this port (0: any free one).",
    show_default="a free port",
)
@partitions_option()
@prefix_option("topic_prefix")
@departments_option()
def broker_command(port: int | None, **options: object) -> None:
    """Run the embedded development broker with every gateway topic until SIGINT or SIGTERM."""
    configure_logging(False)
    settings = load_settings(**options)
    asyncio.run(_serve(settings, port))


async def _serve(settings: GatewaySettings, port: int | None) -> None:
    stop = stop_on_signals()
    broker = start_gateway_broker(
        TopicNames(settings.topic_prefix), settings.departments, settings.partitions, port
    )
    try:
        await wait_until_ready(broker.bootstrap, _READY_TIMEOUT_S)
        click.echo(f"bootstrap={broker.bootstrap}")  # click.echo flushes
        click.echo(_summary(broker), err=True)
        await stop.wait()
    finally:
        broker.stop()
    click.echo("embedded broker stopped", err=True)


def _summary(broker: EmbeddedBroker) -> str:
    topics = broker.topics
    counts = sorted(set(topics.values()))
    each = f"{counts[0]} partitions each" if len(counts) == 1 else "various partition counts"
    names = textwrap.fill(", ".join(topics), width=100, initial_indent="  ", subsequent_indent="  ")
    limits = "\n".join(f"  - {limit}" for limit in EMBEDDED_BROKER_LIMITS)
    return (
        f"embedded Kafka-protocol broker (librdkafka mock cluster) at {broker.bootstrap}\n"
        f"{len(topics)} topics, {each}:\n{names}\n"
        f"limits:\n{limits}\n"
        "stop with Ctrl-C or SIGTERM"
    )
