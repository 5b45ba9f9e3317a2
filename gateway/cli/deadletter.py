"""``gateway deadletter list|show|replay``: dead letters by reason and input coordinates.

Payloads (raw input, which may hold personal data) are never printed unless ``show --payload``
asks for them; the dead-letter topic's ACLs keep it to operators (docs/security.md).
"""

from __future__ import annotations

import asyncio
import getpass
import json

import click
from rich.console import Console
from rich.table import Table

from gateway.cli._common import load_settings
from gateway.cli._options import bootstrap_option, format_option, prefix_option, verbose_option
from gateway.errors import ConfigError
from gateway.logs import configure_logging
from gateway.operations.deadletters import (
    find_dead_letter,
    read_dead_letters,
    replay_dead_letter,
)

__all__ = ["deadletter_group"]


def _where(bootstrap: str | None, prefix: str | None, verbose: bool) -> tuple[str, str]:
    """The Kafka and topic prefix to read, once logging is set up as for every command."""
    configure_logging(verbose)
    settings = load_settings(bootstrap=bootstrap, topic_prefix=prefix)
    if settings.bootstrap is None:
        raise ConfigError("no Kafka to read: give --bootstrap or set GATEWAY_BOOTSTRAP")
    return settings.bootstrap, settings.topic_prefix


@click.group("deadletter", short_help="Inspect and replay dead letters.")
def deadletter_group() -> None:
    """Inspect and replay dead letters (input the gateway could not process)."""


@deadletter_group.command("list", short_help="List the newest dead letters.")
@bootstrap_option()
@prefix_option()
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="At most this many dead letters, the newest.",
)
@format_option(help="Output format (json: one object per line).")
@verbose_option()
def list_command(
    bootstrap: str | None, prefix: str | None, limit: int, fmt: str, verbose: bool
) -> None:
    """The newest dead letters: reference, time, code, input coordinates and reason."""
    server, prefix = _where(bootstrap, prefix, verbose)
    entries = asyncio.run(read_dead_letters(server, prefix, limit=limit))
    if fmt == "json":
        for entry in entries:
            click.echo(json.dumps(entry.summary()))
        return
    table = Table(title=f"dead letters on {prefix}.deadletter (newest {limit})")
    for column in ("ref", "at", "code", "input", "reason"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        s = entry.summary()
        where = f"{s['input_topic']}[{s['input_partition']}]@{s['input_offset']}"
        table.add_row(s["ref"], s["at"][:19], s["error_code"], where, s["reason"])
    Console().print(table)


@deadletter_group.command("show", short_help="Show one dead letter in full.")
@click.argument("ref")
@bootstrap_option()
@prefix_option()
@click.option(
    "--payload", is_flag=True, help="Also print the key and payload (raw input: personal data)."
)
@verbose_option()
def show_command(
    ref: str, bootstrap: str | None, prefix: str | None, payload: bool, verbose: bool
) -> None:
    """One dead letter by id or PARTITION:OFFSET, as JSON."""
    server, prefix = _where(bootstrap, prefix, verbose)
    entry = asyncio.run(find_dead_letter(server, prefix, ref))
    click.echo(json.dumps(entry.summary(payload=payload), indent=2))


@deadletter_group.command("replay", short_help="Write a dead letter's input back after a fix.")
@click.argument("ref")
@bootstrap_option()
@prefix_option()
@click.option(
    "--by",
    metavar="NAME",
    help="Who replays it, for the audit record.",
    show_default="the login name",
)
@verbose_option()
def replay_command(
    ref: str, bootstrap: str | None, prefix: str | None, by: str | None, verbose: bool
) -> None:
    """Write a dead letter's input back to its topic, after a fix; the gateway's audit record
    of it names the dead letter it replays."""
    server, prefix = _where(bootstrap, prefix, verbose)

    async def replay() -> tuple[str, int, int]:
        entry = await find_dead_letter(server, prefix, ref)
        partition, offset = await replay_dead_letter(server, entry, by or getpass.getuser())
        return entry.letter.input_topic, partition, offset

    topic, partition, offset = asyncio.run(replay())
    click.echo(f"replayed {ref} to {topic}[{partition}]@{offset}")
