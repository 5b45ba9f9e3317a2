"""Rebuild the processor's memory of answered exchanges from the output topics, at start.

The processor recognises a redelivered request or a replayed response by its id, but that memory
is per process. Before an instance consumes, it reads the inbox requests and replies written in
the last token lifetime (``now - GATEWAY_TOKEN_TTL_SECONDS``, found by timestamp), up to the
memory's capacity, and remembers them. A response can only be released with a valid token, so
releases older than that cannot be replayed. Where the topics cannot show a whole token lifetime
(more replies than the memory holds, replies deleted by retention) the memory's replay horizon
moves past what could not be read (:mod:`gateway.transport.recall_plan`,
:mod:`gateway.exchange.dedupe`), and responses approved before it are refused.

Record timestamps stand for release times: a reply's Kafka timestamp is set when the gateway
writes it, after it decided. Clocks of gateway instances and brokers are assumed to agree within
:data:`CLOCK_SKEW`; the window reaches back that much further. A broker that cannot look offsets
up by time (the embedded one) is recognised, and everything it retains is read instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from gateway.exchange.processor import ExchangeProcessor
from gateway.transport.read_back import last_records, read_to_ends
from gateway.transport.recall_plan import PartitionReach, plan_recall, retention_keeps
from gateway.transport.topics import READ_COMMITTED, TopicNames

__all__ = ["recall_recent_outputs", "recall_since", "retention_covers"]

log = logging.getLogger("gateway.runner")

CLOCK_SKEW = timedelta(seconds=60)
"""How far apart the clocks of gateway instances and brokers may be."""


async def recall_recent_outputs(
    processor: ExchangeProcessor,
    *,
    bootstrap: str,
    topics: TopicNames,
    departments: Sequence[str],
    partitions_for: Callable[[str], Awaitable[set[int]]],
    now: datetime | None = None,
    positions: dict[TopicPartition, int] | None = None,
) -> int:
    """Feed the inbox and replies records of the last token lifetime to ``processor.recall`` and
    move its replay horizon past what could not be read; returns how many records were read.
    ``positions``, if given, receives each partition's end offset: where :func:`recall_since`
    goes on from."""
    now = now or datetime.now(UTC)
    window = now - processor.token_ttl - CLOCK_SKEW
    consumer = _outputs_reader(bootstrap)
    await consumer.start()
    try:
        replies = {topics.replies(d) for d in departments}
        partitions: list[TopicPartition] = []
        for dept in departments:
            for topic in (topics.inbox(dept), topics.replies(dept)):
                partitions += [TopicPartition(topic, p) for p in await partitions_for(topic)]
        if not partitions:
            return 0
        consumer.assign(partitions)
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        if positions is not None:
            positions.update(ends)
        found = await _window_starts(consumer, starts, ends, _millis(window))
        deleted = {tp.topic for tp in partitions if tp.topic in replies and starts[tp] > 0}
        covered = await retention_covers(bootstrap, deleted, now - window) if deleted else set()
        reach = {
            tp: PartitionReach(
                start=starts[tp],
                end=ends[tp],
                window_start=found[tp],
                vouches=tp.topic in replies,
                retention_covers=tp.topic in covered,
            )
            for tp in partitions
        }
        plan = plan_recall(reach, processor.dedupe_capacity)
        remaining: dict[TopicPartition, int] = {}
        for tp, read in plan.items():
            if read.first < read.end:
                consumer.seek(tp, read.first)
                remaining[tp] = read.end
        firsts: dict[TopicPartition, int] = {}
        count = 0
        async for tp, records in read_to_ends(consumer, remaining):
            firsts.setdefault(tp, records[0].timestamp)
            for record in records:
                processor.recall(record.topic, record.value, now)
            count += len(records)
        unvouched = [tp for tp, read in plan.items() if read.cannot_vouch]
        for tp in unvouched:
            first = firsts.get(tp)
            at = now if first is None else min(_from_millis(first) + CLOCK_SKEW, now)
            processor.cannot_vouch_until(at)
        log.info("recalled %d outputs written since %s for de-duplication", count, window)
        if unvouched:
            log.warning(
                "replay horizon at %s: %d replies partitions do not reach back a token lifetime "
                "(more replies than GATEWAY_DEDUPE_CAPACITY, or replies deleted); responses to "
                "requests approved before it are refused",
                processor.replay_horizon,
                len(unvouched),
            )
        return count
    finally:
        await consumer.stop()


async def recall_since(
    processor: ExchangeProcessor,
    positions: dict[TopicPartition, int],
    *,
    bootstrap: str,
    now: datetime | None = None,
) -> int:
    """Feed what the inbox and replies partitions of ``positions`` gained since then to
    ``processor.recall``, and move ``positions`` to their new ends; returns how many records
    were read.

    Run when input partitions move to this instance: other instances answered their exchanges
    meanwhile, and a response replayed to this one must be recognised all the same.
    """
    if not positions:
        return 0
    now = now or datetime.now(UTC)
    consumer = _outputs_reader(bootstrap)
    await consumer.start()
    try:
        partitions = list(positions)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        todo = {tp: end for tp, end in ends.items() if end > positions[tp]}
        for tp in todo:
            consumer.seek(tp, positions[tp])
        count = 0
        async for _, records in read_to_ends(consumer, todo):
            for record in records:
                processor.recall(record.topic, record.value, now)
            count += len(records)
        positions.update(ends)
        log.info("recalled %d outputs other instances wrote since the last recall", count)
        return count
    finally:
        await consumer.stop()


def _outputs_reader(bootstrap: str) -> AIOKafkaConsumer:
    """A group-less consumer of the inbox and replies topics, reading committed records."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level=READ_COMMITTED,
        auto_offset_reset="earliest",
        group_id=None,
        fetch_max_wait_ms=10,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )


async def _window_starts(
    consumer: AIOKafkaConsumer,
    starts: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    window_ms: int,
) -> dict[TopicPartition, int | None]:
    """Per partition, the first offset at or after ``window_ms``; None where the broker cannot
    look offsets up by time (then all it retains is read)."""
    busy = [tp for tp in starts if ends[tp] > starts[tp]]
    found: dict[TopicPartition, int | None] = {tp: ends[tp] for tp in starts}
    try:
        answers = await consumer.offsets_for_times(dict.fromkeys(busy, window_ms))
    except KafkaError as exc:
        log.warning("broker cannot look offsets up by time (%s): reading all retained", exc)
        answers = dict.fromkeys(busy)
    unsure = []
    for tp in busy:
        answer = answers.get(tp)
        if answer is not None:
            found[tp] = answer.offset
        else:
            unsure.append(tp)
    # "No record in the window" is checked against the newest record: a broker that cannot
    # look up by time (the embedded one) answers the same for every timestamp.
    last = await _last_timestamps(consumer, unsure, ends)
    for tp in unsure:
        last_ms = last.get(tp)
        if last_ms is None or last_ms >= window_ms:
            found[tp] = None
    return found


async def _last_timestamps(
    consumer: AIOKafkaConsumer,
    partitions: Collection[TopicPartition],
    ends: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """The timestamp of the newest record of each partition (missing if it cannot be read)."""
    begins = await consumer.beginning_offsets(list(partitions))
    found: dict[TopicPartition, Any] = {}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            found = await last_records(consumer, begins, {tp: ends[tp] for tp in partitions})
    return {tp: record.timestamp for tp, record in found.items()}


async def retention_covers(bootstrap: str, topics: Collection[str], window: timedelta) -> set[str]:
    """The topics whose configuration is known to keep every record longer than ``window``:
    deletion only, by time, no size limit. A broker that cannot say covers nothing."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        resources = [ConfigResource(ConfigResourceType.TOPIC, t) for t in sorted(topics)]
        responses = await asyncio.wait_for(admin.describe_configs(resources), timeout=10)
        covered = set()
        for response in responses:
            for error_code, _, _, name, entries in response.resources:
                values = {entry[0]: entry[1] for entry in entries}
                if error_code == 0 and name in topics and retention_keeps(values, window):
                    covered.add(name)
        return covered
    except (KafkaError, TimeoutError, TypeError, ValueError) as exc:
        log.warning("topic retention unknown (%s): deleted replies are taken as unprovable", exc)
        return set()
    finally:
        await admin.close()


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _from_millis(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
