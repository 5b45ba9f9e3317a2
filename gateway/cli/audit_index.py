"""``gateway audit index``: copy the audit topic into an audit store (or measure how fast)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

import click

from gateway.cli._common import load_settings, stop_on_signals
from gateway.cli._options import audit_db_option, bootstrap_option, prefix_option, verbose_option
from gateway.errors import ChainBrokenError, ConfigError
from gateway.logs import configure_logging
from gateway.transport.topics import TopicNames

if TYPE_CHECKING:
    from gateway.audit_store.indexing import IndexerStats

__all__ = ["index_command"]

log = logging.getLogger("gateway.audit.indexer")


@click.command("index", short_help="Index the audit topic into the audit store.")
@bootstrap_option()
@prefix_option()
@audit_db_option("Audit store to fill: sqlite:///FILE (created if missing) or postgresql://...")
@click.option(
    "--group",
    help="Consumer group the indexer commits its offsets to (for lag tools).",
    show_default="<prefix>-audit-indexer",
)
@click.option("--once", is_flag=True, help="Index what the topic holds now, then exit.")
@click.option("--from-beginning", is_flag=True, help="Read the whole topic again.")
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False),
    help="Also check checkpoint signatures with this key (PEM).",
)
@click.option(
    "--one-process",
    is_flag=True,
    help="Read records in this process rather than in a second one (one core, slower).",
)
@click.option("--bench", is_flag=True, help="Measure indexing into SQLite instead; no broker.")
@click.option(
    "--records",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Synthetic records for --bench.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@verbose_option()
def index_command(
    bootstrap: str | None,
    prefix: str | None,
    audit_db: str | None,
    group: str | None,
    once: bool,
    from_beginning: bool,
    public_key: str | None,
    one_process: bool,
    bench: bool,
    records: int,
    as_json: bool,
    verbose: bool,
) -> None:
    """Index the audit topic into the audit store that queries and reports read.

    One row per decision however often a record is read; each partition's hash chain is
    followed as it goes, and a break exits 1. Without --once it follows the topic until
    SIGINT or SIGTERM.
    """
    configure_logging(verbose)
    if bench:
        from gateway.bench.audit_index import run_bench

        measured = run_bench(records, decoder_process=not one_process)
        if as_json:
            click.echo(json.dumps(measured, indent=2))
        else:
            how = (
                "records read in a second process" if measured["decoder_process"] else "one process"
            )
            click.echo(
                f"indexed {measured['records']:,} synthetic records into SQLite in "
                f"{measured['seconds']:.2f}s: {measured['records_per_s']:,} records/s ({how}; "
                f"{measured['stored']:,} stored, {measured['chain_breaks']} chain breaks)"
            )
        return
    settings = load_settings(bootstrap=bootstrap, topic_prefix=prefix)
    if settings.bootstrap is None:
        raise ConfigError("give --bootstrap HOST:PORT (or set GATEWAY_BOOTSTRAP), or --bench")
    stats = asyncio.run(
        _index(
            settings.bootstrap,
            TopicNames(settings.topic_prefix),
            audit_db or settings.audit_db.get_secret_value(),
            group=group,
            once=once,
            from_beginning=from_beginning,
            public_key=public_key,
            decoder_process=not one_process,
        )
    )
    if as_json:
        click.echo(json.dumps(stats.summary(), indent=2))
    else:
        click.echo(
            f"indexed {stats.indexed:,} decision(s) from {stats.messages:,} message(s) in "
            f"{stats.batches:,} batch(es); {stats.repeated:,} already stored, "
            f"{stats.undecodable:,} undecodable, {stats.chain_breaks:,} chain break(s)"
        )
    if stats.chain_breaks:
        raise ChainBrokenError(f"AUDIT CHAIN BROKEN: {stats.chain_breaks} break(s) found")


async def _index(
    bootstrap: str,
    topics: TopicNames,
    url: str,
    *,
    group: str | None,
    once: bool,
    from_beginning: bool,
    public_key: str | None,
    decoder_process: bool,
) -> IndexerStats:
    from gateway.audit.checkpoint import load_public_key
    from gateway.audit.follow import ChainFollower
    from gateway.audit_store import open_store
    from gateway.transport.audit_indexer import index_audit_topic  # importing aiokafka is slow

    key = load_public_key(public_key) if public_key else None
    stop = stop_on_signals()
    store = open_store(url)
    try:
        log.info("indexing %s into %s", topics.audit, store.url)
        return await index_audit_topic(
            store,
            bootstrap=bootstrap,
            topics=topics,
            group_id=group,
            once=once,
            from_beginning=from_beginning,
            stop=stop,
            chain=ChainFollower(public_key=key),
            decoder_process=decoder_process,
        )
    finally:
        store.close()
