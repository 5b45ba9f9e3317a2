"""Restore volume-cap counts from today's audit log when capped partitions become ours.

Every approval is audited before it is routed, so the request-stage audit records written since
the start of the current UTC day hold exactly the approvals the caps count (hour and day). Each
cap key lives in one partition of the capped topic (the producer's default partitioner: murmur2
of the key); an instance that gains capped partitions reads the day's audit records once and
counts the approvals whose cap key falls in those partitions into their counters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditRecord
from gateway.errors import DecodeError, TransportError
from gateway.policy.caps import CapKey, VolumeCounter, approvals, cap_key_bytes
from gateway.transport.partitioning import key_partition
from gateway.transport.read_back import last_records, read_to_ends
from gateway.transport.topics import READ_COMMITTED

__all__ = ["cap_partition", "restore_volume"]

log = logging.getLogger("gateway.policy")


def start_of_utc_day(now: datetime) -> datetime:
    """Midnight UTC of the day containing ``now``: the oldest approval a cap can still count."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def cap_partition(key: CapKey, partitions: int) -> int:
    """The capped-topic partition of ``key``: what the producer's default partitioner picks for
    :func:`~gateway.policy.caps.cap_key_bytes` among partitions ``0 .. partitions - 1``."""
    return key_partition(cap_key_bytes(key), partitions)


async def restore_volume(
    counters: Mapping[int, VolumeCounter],
    *,
    bootstrap: str,
    audit_topic: str,
    codec: Codec,
    now: datetime,
    partition_of: Callable[[CapKey], int],
) -> int:
    """Count every approval audited on ``audit_topic`` since midnight UTC into the counter of
    its cap key's partition (``partition_of``), if ``counters`` has one; returns how many were
    counted."""
    consumer = AIOKafkaConsumer(
        isolation_level=READ_COMMITTED,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        fetch_max_wait_ms=10,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    metadata = AIOKafkaProducer(bootstrap_servers=bootstrap)  # knows a topic's partitions
    try:
        await metadata.start()
        await consumer.start()
        partitions = await metadata.partitions_for(audit_topic)
        dispatch = _Dispatch(counters, partition_of)
        counted = await _restore(consumer, dispatch, audit_topic, partitions, codec, now)
    except KafkaError as exc:
        raise TransportError(f"cannot read {audit_topic} to restore volume caps: {exc}") from exc
    finally:
        await consumer.stop()
        await metadata.stop()
    log.info(
        "restored %d approvals of today into the volume caps of capped partitions %s",
        counted,
        sorted(counters),
    )
    return counted


class _Dispatch:
    """Records each approval in the counter of its cap key's partition, if that one is kept."""

    def __init__(
        self, counters: Mapping[int, VolumeCounter], partition_of: Callable[[CapKey], int]
    ) -> None:
        self._counters = counters
        self._partition_of = partition_of
        self._partitions: dict[CapKey, int] = {}  # one hash per key, not per approval

    def restore(self, records: Iterator[AuditRecord]) -> int:
        counted = 0
        for key, at in approvals(records):
            partition = self._partitions.get(key)
            if partition is None:
                partition = self._partitions[key] = self._partition_of(key)
            counter = self._counters.get(partition)
            if counter is not None:
                counter.record(key, at)
                counted += 1
        return counted


async def _restore(
    consumer: AIOKafkaConsumer,
    counters: _Dispatch,
    audit_topic: str,
    numbers: set[int],
    codec: Codec,
    now: datetime,
) -> int:
    """Read the audit topic from today's first record to its end, counting approvals."""
    partitions = [TopicPartition(audit_topic, p) for p in sorted(numbers)]
    if not partitions:
        return 0
    consumer.assign(partitions)
    since = start_of_utc_day(now)
    since_ms = int(since.timestamp() * 1000)
    found = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
    firsts = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    remaining = {}
    for tp in partitions:
        start = found.get(tp)
        if start is None and ends[tp] > firsts[tp] and await _written_since(consumer, tp, since_ms):
            start_offset = firsts[tp]  # a broker without a time index: scan, filtering by time
        elif start is not None:
            start_offset = start.offset
        else:
            continue  # nothing written since midnight
        if start_offset < ends[tp]:
            consumer.seek(tp, start_offset)
            remaining[tp] = ends[tp]
    counted = 0
    async for _, records in read_to_ends(consumer, remaining):
        counted += counters.restore(_decisions(codec, records, since))
    return counted


async def _written_since(consumer: AIOKafkaConsumer, tp: TopicPartition, since_ms: int) -> bool:
    """Whether the partition's last record carries a timestamp at or after ``since_ms``."""
    begins, ends = await consumer.beginning_offsets([tp]), await consumer.end_offsets([tp])
    last = (await last_records(consumer, begins, ends)).get(tp)
    return last is not None and int(last.timestamp) >= since_ms


def _decisions(codec: Codec, records: list[object], since: datetime) -> Iterator[AuditRecord]:
    """The audit records among ``records`` made since ``since``; other messages are skipped."""
    for record in records:
        value = getattr(record, "value", None)
        if value is None:
            continue
        try:
            decision = codec.decode(value, AuditRecord)
        except DecodeError:
            continue
        if decision.at >= since:
            yield decision
