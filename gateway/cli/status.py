"""``gateway status``: the cluster at a glance in the terminal (or as JSON), once or refreshing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from typing import Any

import click
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gateway.cli._common import load_settings
from gateway.cli._options import AliasedOption, bootstrap_option, format_option, prefix_option
from gateway.errors import ConfigError
from gateway.operations.snapshot import ClusterSnapshot

__all__ = ["status_command"]

_OUTCOME_STYLES = {
    "APPROVED": "green",
    "APPROVED_MINIMISED": "green",
    "RELEASED": "cyan",
    "REDACTED": "cyan",
    "DENIED": "red",
    "BLOCKED": "magenta",
    "DEAD_LETTERED": "yellow",
    "INPUT_GAP": "yellow",
}


@click.command("status", short_help="Lag, recent decisions and refusal rates.")
@bootstrap_option()
@prefix_option()
@click.option(
    "--group",
    "groups",
    multiple=True,
    help="Gateway consumer group whose lag to show; repeat for several.",
    show_default="GATEWAY_GROUP_ID, dx-gateway",
)
@click.option("--watch", is_flag=True, help="Refresh until interrupted.")
@click.option(
    "--interval",
    default=2.0,
    show_default=True,
    type=click.FloatRange(min=0.2),
    help="Seconds between refreshes with --watch.",
)
@format_option()
@click.option(
    "--by-partition",
    "by_partition",
    is_flag=True,
    cls=AliasedOption,
    hidden_aliases=("--partitions",),
    help="One row per input partition, not per topic.",
)
@click.option(
    "--dead-letters",
    default=5,
    show_default=True,
    type=click.IntRange(min=0, max=100),
    help="How many of the latest dead letters to list.",
)
def status_command(
    bootstrap: str | None,
    prefix: str | None,
    groups: tuple[str, ...],
    watch: bool,
    interval: float,
    fmt: str,
    by_partition: bool,
    dead_letters: int,
) -> None:
    """Lag per input partition, recent decisions, refusal reasons, dead letters, audit chains.

    Counts cover the last minute and the last hour of the audit log. Reading changes nobody's
    committed offsets.
    """
    settings = load_settings()
    bootstrap = bootstrap or settings.bootstrap
    if not bootstrap:
        raise ConfigError("give --bootstrap HOST:PORT (or set GATEWAY_BOOTSTRAP)")
    # aiokafka logs every failed connection; the command says what matters once, itself.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    options: dict[str, Any] = {
        "prefix": prefix or settings.topic_prefix,
        "groups": groups or (settings.group_id,),
        "dead_letters": dead_letters,
    }
    with contextlib.suppress(KeyboardInterrupt):  # --watch ends with Ctrl-C
        asyncio.run(_show(bootstrap, options, watch, interval, fmt, by_partition))


async def _show(
    bootstrap: str,
    options: dict[str, Any],
    watch: bool,
    interval: float,
    fmt: str,
    partitions: bool,
) -> None:
    from gateway.operations.reader import ClusterReader  # importing aiokafka is slow

    console = Console()
    async with ClusterReader(bootstrap, **options) as reader:
        snapshot = await reader.snapshot()
        if fmt == "json":
            while True:
                sys.stdout.write(json.dumps(snapshot.to_dict(), indent=None if watch else 2))
                sys.stdout.write("\n")
                sys.stdout.flush()
                if not watch:
                    return
                await asyncio.sleep(interval)
                snapshot = await reader.snapshot()
        if not watch:
            console.print(render_status(snapshot, partitions=partitions))
            return
        # The whole screen, cropped at its foot: the heading and the first tables stay in view.
        with Live(
            render_status(snapshot, partitions=partitions),
            console=console,
            screen=True,
            vertical_overflow="crop",
        ) as live:
            while True:
                await asyncio.sleep(interval)
                live.update(render_status(await reader.snapshot(), partitions=partitions))


def render_status(snapshot: ClusterSnapshot, *, partitions: bool = False) -> RenderableType:
    """The snapshot as rich tables that fit 80 columns."""
    parts: list[RenderableType] = [_heading(snapshot), _decisions(snapshot)]
    if snapshot.reasons:
        parts.append(_reasons(snapshot))
    parts += [_lag(snapshot, partitions), _audit(snapshot), _dead_letters(snapshot)]
    parts += [Text(f"note: {note}", style="yellow") for note in snapshot.notes]
    return Group(*parts)


def _heading(s: ClusterSnapshot) -> Text:
    text = Text()
    text.append(f"{s.prefix}", style="bold")
    text.append(f" on {s.bootstrap}  {s.taken_at:%Y-%m-%d %H:%M:%S} UTC\n")
    text.append(f"policy {s.policy_version or 'unknown'}  ")
    lag = ", ".join(f"{g} lag {s.total_lag(g)}" for g in s.groups)
    text.append(lag)
    text.append("  audit ")
    text.append("ok" if s.audit_ok else "PROBLEM", style="green" if s.audit_ok else "bold red")
    return text


def _table(title: str, *columns: str, right: tuple[str, ...] = ()) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left", overflow="fold")
    return table


def _decisions(s: ClusterSnapshot) -> RenderableType:
    if not s.decisions:
        return Text("Decisions: none in the last hour")
    table = _table(
        "Decisions", "agreement", "outcome", "1 min", "1 hour", right=("1 min", "1 hour")
    )
    for d in s.decisions:
        style = _OUTCOME_STYLES.get(d.outcome, "")
        table.add_row(
            d.agreement_id or "(input)",
            Text(d.outcome, style=style),
            str(d.last_minute),
            str(d.last_hour),
        )
    return table


def _reasons(s: ClusterSnapshot) -> Table:
    table = _table("Refusals, last hour", "outcome", "reason", "count", right=("count",))
    for r in s.reasons:
        table.add_row(r.outcome, f"{r.code}: {r.message}", str(r.last_hour))
    return table


def _lag(s: ClusterSnapshot, partitions: bool) -> Table:
    if partitions:
        table = _table(
            "Input partitions", "topic", "p", "end", "group", "committed", "lag",
            right=("p", "end", "committed", "lag"),
        )  # fmt: skip
        for p in s.inputs:
            for g in p.groups:
                committed = "-" if g.committed is None else str(g.committed)
                table.add_row(
                    p.topic, str(p.partition), str(p.end), g.group, committed, _lag_text(g.lag)
                )
        return table
    table = _table(
        "Input lag", "topic", "group", "records", "lag", "lagging",
        right=("records", "lag", "lagging"),
    )  # fmt: skip
    for group in s.groups:
        for t in s.topic_lags(group):
            lagging = f"{t.lagging_partitions}/{t.partitions}"
            table.add_row(t.topic, group, str(t.end), _lag_text(t.lag), lagging)
    return table


def _lag_text(lag: int) -> Text:
    return Text(str(lag), style="bold yellow" if lag else "")


def _audit(s: ClusterSnapshot) -> RenderableType:
    if not s.audit:
        return Text("Audit: no audit topic", style="red")
    table = _table(
        "Audit chains", "p", "head", "checkpoint", "age", "unsigned", "status",
        right=("p", "head", "checkpoint", "age", "unsigned"),
    )  # fmt: skip
    for a in s.audit:
        if a.problems:
            status = Text(a.problems[0], style="bold red")
        elif a.checkpoint_valid is False:
            status = Text("checkpoint signature invalid", style="bold red")
        elif a.head_sequence is None:
            status = Text("empty")
        elif a.checkpoint_sequence is None:
            status = Text("no checkpoint found", style="yellow")
        else:
            status = Text("ok", style="green")
        table.add_row(
            str(a.partition),
            _opt(a.head_sequence),
            _opt(a.checkpoint_sequence),
            _age(a.checkpoint_age_s),
            _opt(a.unsigned),
            status,
        )
    return table


def _dead_letters(s: ClusterSnapshot) -> RenderableType:
    dead = s.dead_letters
    if not dead.total:
        return Text("Dead letters: none")
    table = _table(f"Dead letters: {dead.total} held; latest", "at (UTC)", "input", "reason")
    for n in dead.latest:
        at = f"{n.at:%H:%M:%S}" if n.at else ""
        table.add_row(at, f"{n.input_topic}[{n.input_partition}]@{n.input_offset}", n.reason)
    return table


def _opt(value: int | None) -> str:
    return "-" if value is None else str(value)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h"
