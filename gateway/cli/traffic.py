"""``gateway traffic``: requester traffic through a running gateway, and what came back."""

from __future__ import annotations

import asyncio
import json

import click
from rich.console import Console

from gateway.cli._common import load_settings
from gateway.cli._options import AliasedOption, bootstrap_option, prefix_option, verbose_option
from gateway.cli.departments import DATASET_SIZE, dataset_seed_option
from gateway.errors import ConfigError
from gateway.logs import configure_logging
from gateway.synthetic.datasets import DEFAULT_SEED
from gateway.transport.topics import TopicNames

__all__ = ["traffic_command"]


@click.command("traffic", short_help="Send the shipped mix of test requests.")
@bootstrap_option()
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=50.0,
    show_default=True,
    help="Requests per second.",
)
@click.option(
    "--count",
    type=click.IntRange(min=0),
    help="How many requests to send.",
    show_default="500, unless --seconds is given",
)
@click.option(
    "--seconds",
    cls=AliasedOption,
    hidden_aliases=("--duration",),
    type=click.FloatRange(min=0, min_open=True),
    help="Send for this long instead (rate x seconds requests).",
)
@click.option(
    "--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Seed of the traffic plan."
)
@DATASET_SIZE
@dataset_seed_option()
@prefix_option()
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for each reply.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@verbose_option()
def traffic_command(
    bootstrap: str | None,
    rate: float,
    count: int | None,
    seconds: float | None,
    seed: int,
    dataset_size: int,
    dataset_seed: int,
    prefix: str | None,
    timeout: float,
    as_json: bool,
    verbose: bool,
) -> None:
    """Send the shipped mix of requests (mostly valid, some the gateway must refuse or trim)
    as the requesting departments, and report what came back.

    Exits 1 if a request timed out or was answered differently from what the plan expected.
    """
    from gateway.departments.traffic import run_traffic  # importing aiokafka is slow

    configure_logging(verbose)
    if count is not None and seconds is not None:
        raise click.UsageError("give --count or --seconds, not both")
    settings = load_settings(bootstrap=bootstrap, topic_prefix=prefix)
    if settings.bootstrap is None:
        raise ConfigError("give --bootstrap HOST:PORT (or set GATEWAY_BOOTSTRAP)")
    stats = asyncio.run(
        run_traffic(
            settings.bootstrap,
            rate,
            seconds,
            count if count is not None or seconds is not None else 500,
            seed,
            topics=TopicNames(settings.topic_prefix),
            reply_timeout_s=timeout,
            dataset_size=dataset_size,
            dataset_seed=dataset_seed,
        )
    )
    if as_json:
        click.echo(json.dumps(stats.summary(), indent=2))
    else:
        from gateway.demo.summary import render_traffic

        Console(highlight=False).print(render_traffic(stats))
    if stats.timeouts or stats.unexpected:
        raise click.ClickException(
            f"{stats.timeouts} request(s) timed out, {stats.unexpected} answered unexpectedly"
        )
