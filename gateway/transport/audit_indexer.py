"""The audit indexer: reads the audit topic into an audit store for queries and reports.

It reads every partition of ``<prefix>.audit`` (assigned, not group-balanced, so it can follow
each partition's hash chain), in batches: decode, follow the chain, load the batch and where it
leaves each partition in one store transaction, then commit the offsets to its consumer group.
The store decides where reading resumes, so a new or restored database is filled from the
start of the topic; the group's committed offsets let Kafka tools show the indexer's lag.
Loading is idempotent: a record read twice is stored once. Records are read into rows in a
second process while this one loads (``--one-process`` keeps it to one).

::

    gateway audit index --bootstrap HOST:PORT [--prefix dx] [--audit-db URL] [--once]
    gateway audit index --bench [--records 100000]
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from gateway.audit.follow import ChainFollower
from gateway.audit_store import AuditStore
from gateway.audit_store.indexing import AuditIndexer, AuditMessage, IndexerStats
from gateway.errors import AuditStoreError, TransportError
from gateway.transport.topics import READ_COMMITTED, TopicNames

__all__ = ["index_audit_topic"]

log = logging.getLogger("gateway.audit.indexer")

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
            isolation_level=READ_COMMITTED,
            **{
                "bootstrap_servers": bootstrap,
                "client_id": "dx-audit-indexer",
                "auto_offset_reset": "earliest",
                "fetch_max_wait_ms": _FETCH_WAIT_MS,
                "max_partition_fetch_bytes": 4 * 1024 * 1024,
                **(consumer_config or {}),
                "group_id": group_id or f"{topics.prefix}-audit-indexer",
                "enable_auto_commit": False,
            },
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
            raise TransportError(
                f"audit indexer cannot read {topics.audit} on {bootstrap}: {exc}"
            ) from exc
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
