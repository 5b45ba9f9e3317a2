"""The audit indexer: reads the audit topic into an audit store for queries and reports.

It reads every partition of ``<prefix>.audit`` (assigned, not group-balanced, so it can follow
each partition's hash chain), in batches: decode, follow the chain, load the batch and where it
leaves each partition in one store transaction, then commit the offsets to its consumer group.
The store decides where reading resumes, so a new or restored database is filled from the
start of the topic; the group's committed offsets let Kafka tools show the indexer's lag.
Loading is idempotent: a record read twice is stored once. Records are read into rows in a
second process while this one loads (``--one-process`` keeps it to one).

::

    python -m consumers.audit_indexer --bootstrap HOST:PORT [--prefix dx] [--db URL] [--once]
    python -m consumers.audit_indexer --bench [--records 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from consumers.audit_bench import run_bench
from gateway.audit.checkpoint import load_public_key
from gateway.audit.follow import ChainFollower
from gateway.audit_store import AuditStore, open_store
from gateway.audit_store.indexing import AuditIndexer, AuditMessage, IndexerStats
from gateway.cli import exit_code_for
from gateway.cli._common import load_settings
from gateway.errors import AuditStoreError, GatewayError, TransportError
from gateway.transport.topics import TopicNames

__all__ = ["index_audit_topic", "main"]

log = logging.getLogger("consumers.audit_indexer")

_FETCH_WAIT_MS = 100
_RETRY_MAX_S = 30.0


async def index_audit_topic(
    store: AuditStore,
    *,
    bootstrap: str,
    topics: TopicNames | None = None,
    group_id: str | None = None,
    once: bool = False,
    from_beginning: bool = False,
    stop: asyncio.Event | None = None,
    chain: ChainFollower | None = None,
    max_records: int = 2000,
    consumer_config: Mapping[str, Any] | None = None,
    decoder_process: bool = False,
) -> IndexerStats:
    """Index the audit topic into ``store`` until ``stop`` is set, or, with ``once``, until
    every partition is read up to where it ended when indexing began.

    ``from_beginning`` reads the whole topic again (records already stored stay as they are);
    otherwise reading resumes where the store stands. ``chain`` follows the hash chains
    (default: links only, no checkpoint signatures). ``decoder_process`` reads records in a
    second process (see :class:`AuditIndexer`). Store outages are retried with backoff.
    """
    topics = topics or TopicNames()
    with AuditIndexer(
        store,
        chain=chain if chain is not None else ChainFollower(),
        decoder_process=decoder_process,
    ) as indexer:
        consumer = AIOKafkaConsumer(
            **{
                "bootstrap_servers": bootstrap,
                "client_id": "dx-audit-indexer",
                "auto_offset_reset": "earliest",
                "fetch_max_wait_ms": _FETCH_WAIT_MS,
                "max_partition_fetch_bytes": 4 * 1024 * 1024,
                **(consumer_config or {}),
                "group_id": group_id or f"{topics.prefix}-audit-indexer",
                "enable_auto_commit": False,
            }
        )
        try:
            await consumer.start()
            partitions = await _assign(consumer, indexer, topics.audit, from_beginning)
            ends = await consumer.end_offsets(partitions) if once else None
            while stop is None or not stop.is_set():
                if ends is not None and await _caught_up(consumer, ends):
                    break
                batch = await consumer.getmany(timeout_ms=_FETCH_WAIT_MS, max_records=max_records)
                if not batch:
                    continue
                messages = [
                    AuditMessage(tp.topic, tp.partition, m.offset, m.value)
                    for tp, records in batch.items()
                    for m in records
                ]
                if not await _index(indexer, messages, stop):
                    break  # stopped while the store was down: the batch is read again next time
                await _commit(
                    consumer, {tp: records[-1].offset + 1 for tp, records in batch.items()}
                )
        except KafkaError as exc:
            raise TransportError(f"audit indexer cannot read {topics.audit}: {exc}") from exc
        finally:
            await consumer.stop()
    return indexer.stats


async def _assign(
    consumer: AIOKafkaConsumer, indexer: AuditIndexer, topic: str, from_beginning: bool
) -> list[TopicPartition]:
    ids = consumer.partitions_for_topic(topic)
    if not ids:
        await consumer._client.force_metadata_update()  # no public way to refresh metadata
        ids = consumer.partitions_for_topic(topic)
    if not ids:
        raise TransportError(f"the audit topic {topic} does not exist")
    partitions = [TopicPartition(topic, p) for p in sorted(ids)]
    consumer.assign(partitions)
    starts = {} if from_beginning else await asyncio.to_thread(indexer.resume, topic)
    fresh = [tp for tp in partitions if tp.partition not in starts]
    for tp in partitions:
        if tp.partition in starts:
            consumer.seek(tp, starts[tp.partition])
    if fresh:
        await consumer.seek_to_beginning(*fresh)
    return partitions


async def _caught_up(consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


async def _index(
    indexer: AuditIndexer, messages: Sequence[AuditMessage], stop: asyncio.Event | None
) -> bool:
    """Store one batch (off the event loop, which keeps fetching), retrying while the store is
    unavailable; False if told to stop before it could."""
    delay = 0.5
    while True:
        try:
            await asyncio.to_thread(indexer.index, messages)
            return True
        except AuditStoreError as exc:
            if not exc.retriable:
                raise
            if stop is not None and stop.is_set():
                return False
            log.warning("audit store unavailable, retrying in %.1fs: %s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX_S)


async def _commit(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
    try:
        await consumer.commit(offsets)
    except KafkaError as exc:  # the store already knows where it stands; only the lag view lags
        log.warning("audit indexer: offset commit failed: %s", exc)


def main(argv: Sequence[str] | None = None) -> None:
    """Index the audit topic into an audit store (or, with --bench, measure indexing speed)."""
    parser = argparse.ArgumentParser(
        prog="python -m consumers.audit_indexer", description=main.__doc__
    )
    parser.add_argument("--bootstrap", metavar="HOST:PORT", help="Kafka bootstrap servers")
    parser.add_argument("--prefix", help="topic name prefix (default: GATEWAY_TOPIC_PREFIX, dx)")
    parser.add_argument("--db", help="audit store URL (default: GATEWAY_AUDIT_DB)")
    parser.add_argument("--group", help="consumer group (default: <prefix>-audit-indexer)")
    parser.add_argument("--once", action="store_true", help="index what is there, then exit")
    parser.add_argument("--from-beginning", action="store_true", help="read the whole topic again")
    parser.add_argument(
        "--public-key", metavar="PEM", help="also check checkpoint signatures with this key"
    )
    parser.add_argument(
        "--one-process",
        action="store_true",
        help="read records in this process rather than in a second one (one core, slower)",
    )
    parser.add_argument("--bench", action="store_true", help="measure indexing into SQLite")
    parser.add_argument("--records", type=int, default=100_000, help="records for --bench")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiokafka").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        if args.bench:
            print(
                json.dumps(run_bench(args.records, decoder_process=not args.one_process), indent=2)
            )
            return
        if not args.bootstrap:
            parser.error("--bootstrap is required (or --bench)")
        stats = asyncio.run(_run(args))
    except GatewayError as exc:
        print(f"error [{exc.code}]: {exc}", file=sys.stderr)
        sys.exit(exit_code_for(exc))
    print(json.dumps(stats.summary(), indent=2))
    if stats.chain_breaks:
        print(f"AUDIT CHAIN BROKEN: {stats.chain_breaks} break(s) found", file=sys.stderr)
        sys.exit(1)


async def _run(args: argparse.Namespace) -> IndexerStats:
    settings = load_settings()
    topics = TopicNames(args.prefix or settings.topic_prefix)
    key = load_public_key(args.public_key) if args.public_key else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    store = open_store(args.db or settings.audit_db.get_secret_value())
    try:
        log.info("indexing %s into %s", topics.audit, store.url)
        return await index_audit_topic(
            store,
            bootstrap=args.bootstrap,
            topics=topics,
            group_id=args.group,
            once=args.once,
            from_beginning=args.from_beginning,
            stop=stop,
            chain=ChainFollower(public_key=key),
            decoder_process=not args.one_process,
        )
    finally:
        store.close()


if __name__ == "__main__":
    main()
