"""``gateway departments``: the reference provider departments (faust) on a running cluster.

The services are found through :func:`gateway.departments.services.department_services`
(``python -m consumers.departments`` runs this same command).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import click

from gateway.cli._common import load_settings, stop_on_signals
from gateway.cli._options import (
    AliasedOption,
    bootstrap_option,
    prefix_option,
    verbose_option,
)
from gateway.departments.services import department_services
from gateway.errors import ConfigError
from gateway.logs import configure_logging
from gateway.synthetic.datasets import DEFAULT_SEED, DEFAULT_SIZE, PROVIDERS
from gateway.transport.topics import TopicNames

__all__ = ["DATASET_SIZE", "dataset_seed_option", "departments_command"]

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger("gateway.departments")


DATASET_SIZE = click.option(
    "--dataset-size",
    type=click.IntRange(min=1),
    default=DEFAULT_SIZE,
    show_default=True,
    help="Records in each provider's synthetic dataset (traffic and departments must agree).",
)


def dataset_seed_option(*aliases: str) -> Callable[[F], F]:
    """``--dataset-seed``: the synthetic datasets' seed (traffic and departments must agree)."""
    return click.option(
        "--dataset-seed",
        cls=AliasedOption,
        hidden_aliases=aliases,
        type=int,
        default=DEFAULT_SEED,
        show_default=True,
        help="Seed of the synthetic datasets (traffic and departments must agree).",
    )


@click.command("departments", short_help="Answer requests as the reference departments.")
@bootstrap_option()
@click.option(
    "--departments",
    metavar="LIST",
    default=",".join(PROVIDERS),
    show_default=True,
    help="Comma-separated provider departments to run.",
)
@prefix_option()
@DATASET_SIZE
@dataset_seed_option("--seed")
@click.option(
    "--gateway-key",
    metavar="PEM",
    help="The gateway's message signing public key (a PEM file or its text): a department "
    "answers only what this key signed for its inbox.",
    show_default="config/message-signing.pub",
)
@verbose_option()
def departments_command(
    bootstrap: str | None,
    departments: str,
    prefix: str | None,
    dataset_size: int,
    dataset_seed: int,
    gateway_key: str | None,
    verbose: bool,
) -> None:
    """Answer routed requests from synthetic datasets until SIGINT or SIGTERM.

    One faust app per provider reads dx.inbox.<dept> and writes dx.responses.<dept>. Their
    leader topics (printed at start) must exist; `gateway broker` and `gateway kafka` do not
    create them.
    """
    configure_logging(verbose)
    settings = load_settings(bootstrap=bootstrap, topic_prefix=prefix)
    if settings.bootstrap is None:
        raise ConfigError("give --bootstrap HOST:PORT (or set GATEWAY_BOOTSTRAP)")
    depts = [d.strip() for d in departments.split(",") if d.strip()]
    unknown = sorted(set(depts) - set(PROVIDERS))
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)} provide no dataset; providers: {', '.join(PROVIDERS)}",
            param_hint="--departments",
        )
    answered = asyncio.run(
        _serve(
            settings.bootstrap,
            depts,
            TopicNames(settings.topic_prefix),
            dataset_size,
            dataset_seed,
            gateway_key,
        )
    )
    for dept, count in answered.items():
        click.echo(f"{dept}: answered {count}")


async def _serve(
    bootstrap: str,
    depts: list[str],
    topics: TopicNames,
    size: int,
    seed: int,
    gateway_key: str | None,
) -> dict[str, int]:
    services = department_services()  # loads faust
    needed = services.extra_topics(depts, topics)
    log.info("departments %s need topics %s", ", ".join(depts), ", ".join(needed))
    stop, ready = stop_on_signals(), asyncio.Event()

    async def announce() -> None:
        await ready.wait()
        log.info("answering on %s until interrupted", ", ".join(topics.inbox(d) for d in depts))

    announcing = asyncio.create_task(announce())
    try:
        return await services.run(
            bootstrap,
            depts,
            stop,
            topics=topics,
            dataset_size=size,
            seed=seed,
            ready=ready,
            gateway_key=gateway_key,
        )
    finally:
        announcing.cancel()
