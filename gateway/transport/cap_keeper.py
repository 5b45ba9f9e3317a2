"""Keeps the processor's volume counters in step with the capped partitions it owns.

Every request of one cap key is forwarded to one partition of the capped topic, and one instance
owns each partition, so each counter has exactly one owner. Before the first batch from a newly
owned capped partition (start, static shard, group assignment) the keeper restores the
partition's counter from today's audit approvals; when the partition is given up it drops the
counter, so it is restored afresh if the partition comes back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime

from aiokafka import ConsumerRebalanceListener, TopicPartition

from gateway.exchange.processor import ExchangeProcessor
from gateway.policy.caps import CapKey, InMemoryVolumeCounter, VolumeCounter
from gateway.transport.audit_keeper import AUDIT_UNAVAILABLE
from gateway.transport.topics import TopicNames
from gateway.transport.volume_restore import cap_partition, restore_volume

__all__ = ["CapKeeper"]

log = logging.getLogger("gateway.policy")

PartitionsFor = Callable[[str], Awaitable[Collection[int]]]


class CapKeeper:
    """Restores and drops the counters of the capped partitions one runner owns."""

    def __init__(
        self,
        processor: ExchangeProcessor,
        *,
        bootstrap: str,
        topics: TopicNames,
        departments: Sequence[str],
        lock: asyncio.Lock,
    ) -> None:
        self._processor = processor
        self._bootstrap = bootstrap
        self._topics = topics
        self._requests = topics.requests(departments[0]) if departments else None
        """A requests topic, whose partition count the capped topic should match."""
        self._topic = topics.capped
        self._count: int | None = None
        self.lock = lock
        """The runner's batch lock: counters change only between batches."""

    async def prepare(
        self, inputs: Collection[TopicPartition], partitions_for: PartitionsFor
    ) -> None:
        """Restore the counters of the capped partitions among ``inputs`` that have none.

        Raises ``KafkaError`` or ``TransportError`` when the audit topic cannot be read; no
        counter is installed then, so the partitions are not processed before a retry.
        """
        processor = self._processor
        todo = processor.caps_missing(tp.partition for tp in inputs if tp.topic == self._topic)
        if not todo:
            return
        count = self._count or await self._learn_layout(partitions_for)
        fresh: dict[int, VolumeCounter] = {p: InMemoryVolumeCounter() for p in todo}
        if processor.policy.capped:  # no cap in force: counters start empty

            def partition_of(key: CapKey) -> int:
                return cap_partition(key, count)

            await restore_volume(
                fresh,
                bootstrap=self._bootstrap,
                audit_topic=self._topics.audit,
                codec=processor.codec,
                now=datetime.now(UTC),
                partition_of=partition_of,
            )
        processor.restore_caps(fresh)

    async def try_prepare(
        self,
        inputs: Collection[TopicPartition],
        partitions_for: PartitionsFor,
        *,
        afresh: bool = False,
    ) -> None:
        """:meth:`prepare` now (``afresh``: dropping counters held already) if the audit topic
        can be read, else before the partitions' first batch."""
        async with self.lock:
            if afresh:
                self.release(inputs)
            try:
                await self.prepare(inputs, partitions_for)
            except AUDIT_UNAVAILABLE as exc:
                log.warning(
                    "volume caps of newly owned partitions not restored (%s: %s); retried before "
                    "their first batch",
                    type(exc).__name__,
                    exc,
                )

    def release(self, inputs: Collection[TopicPartition]) -> None:
        """Drop the counters of the capped partitions among ``inputs`` (given up)."""
        self._processor.drop_caps(tp.partition for tp in inputs if tp.topic == self._topic)

    def listener(
        self, inner: ConsumerRebalanceListener, partitions_for: PartitionsFor
    ) -> ConsumerRebalanceListener:
        """Wrap the runner's rebalance listener: drop the counters of partitions that move, and
        restore those of assigned ones afresh (a counter kept from an earlier ownership missed
        what the partition's owner approved meanwhile)."""
        return _Rebalance(self, inner, partitions_for)

    async def _learn_layout(self, partitions_for: PartitionsFor) -> int:
        count = self._count = len(await partitions_for(self._topic))
        if self._requests is not None:
            inputs = len(await partitions_for(self._requests))
            if inputs != count:
                log.warning(
                    "the capped topic %s has %d partition(s), the requests topics %d: give it as "
                    "many, or a consumer group may let two instances write one audit chain",
                    self._topic,
                    count,
                    inputs,
                )
        return count


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(
        self, keeper: CapKeeper, inner: ConsumerRebalanceListener, partitions_for: PartitionsFor
    ) -> None:
        self._keeper = keeper
        self._inner = inner
        self._partitions_for = partitions_for

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        await self._inner.on_partitions_revoked(revoked)
        async with self._keeper.lock:
            self._keeper.release(revoked)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        await self._inner.on_partitions_assigned(assigned)
        await self._keeper.try_prepare(assigned, self._partitions_for, afresh=True)
