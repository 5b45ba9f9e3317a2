"""Keeps the processor's audit chains in step with the audit topic, for the runner.

Partition invariant. Input partition ``p`` is audited on audit partition ``p % A`` (``A``: the
audit topic's partition count). A gateway instance owns the same partition numbers of every
input topic: static shards own ``p % N == I`` of each topic, and the runner's group consumer uses
the range assignor, which with equal partition counts gives each member the same numbers of
each topic. So, when ``A`` is at least the input partition count (group) or a multiple of ``N``
(shards), exactly one instance writes each audit partition, and no two messages claim the same
predecessor.

Before the first batch from newly owned input partitions, the keeper reads the last message of
their audit partitions and their committed offsets, and hands both to the processor, which
continues those chains and expects each partition's next record there
(:mod:`gateway.exchange.ownership`). When partitions are given up, the processor forgets both, so
they are read afresh if they come back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable
from datetime import UTC, datetime

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from gateway.errors import AuditError, TransportError
from gateway.exchange.messages import OutputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.transport.audit_log import AuditTailReader

__all__ = ["AuditKeeper"]

log = logging.getLogger("gateway.audit")

Committed = Callable[[TopicPartition], Awaitable[int | None]]
PartitionsFor = Callable[[str], Awaitable[Collection[int]]]
Write = Callable[[list[OutputMessage]], Awaitable[None]]
AUDIT_UNAVAILABLE = (KafkaError, TransportError, AuditError, TimeoutError)
"""What preparing or writing the audit log raises when it cannot be done now."""


class AuditKeeper:
    """Reads what the processor needs to take over input partitions (audit partition count,
    last audit messages, committed offsets) and writes the checkpoints it makes."""

    def __init__(
        self,
        processor: ExchangeProcessor,
        *,
        bootstrap: str,
        topic: str,
        timeout_s: float,
        shard: tuple[int, int] | None,
    ) -> None:
        self._processor = processor
        self._topic = topic
        self._timeout = timeout_s
        self._shard = shard
        self._reader = AuditTailReader(bootstrap, topic)
        self._layout_known = False
        self.lock = asyncio.Lock()
        """Held while a batch is processed and while partitions change hands."""

    async def start(self) -> None:
        await self._reader.start()

    async def stop(self, within: float = 10.0) -> None:
        await self._reader.stop(within)

    def layout_known(self) -> bool:
        """Whether the audit topic's partition count has been read yet."""
        return self._layout_known

    def audit_partitions(self, inputs: Iterable[TopicPartition]) -> set[int]:
        return {self._processor.audit_partition_of(tp.partition) for tp in inputs}

    async def prepare(
        self,
        inputs: Collection[TopicPartition],
        committed: Committed,
        partitions_for: PartitionsFor,
    ) -> None:
        """Make the chains and gap expectations of ``inputs`` ready for processing.

        Raises ``KafkaError``, ``TransportError`` or ``TimeoutError`` when the audit topic
        cannot be read, and ``ChainBrokenError`` when its last message is not a chain link.
        """
        processor = self._processor
        todo = processor.awaiting_take_over(inputs)
        if not todo:
            return
        async with asyncio.timeout(self._timeout):
            if not self._layout_known:
                await self._learn_layout(todo, partitions_for)
            wanted = processor.tails_needed(todo)
            tails = await self._reader.last_messages(wanted) if wanted else {}
            offsets = {tp: await committed(tp) for tp in todo}
        processor.take_over(offsets, tails)

    async def try_prepare(
        self,
        inputs: Collection[TopicPartition],
        committed: Committed,
        partitions_for: PartitionsFor,
    ) -> None:
        """:meth:`prepare` now if the audit topic can be read, else before the first batch."""
        async with self.lock:
            try:
                await self.prepare(inputs, committed, partitions_for)
            except AUDIT_UNAVAILABLE as exc:
                log.warning(
                    "audit chains of newly owned partitions not ready (%s: %s); retried before "
                    "their first batch",
                    type(exc).__name__,
                    exc,
                )

    def release(self, inputs: Iterable[TopicPartition]) -> None:
        """Forget what was prepared for ``inputs`` (given up, or abandoned mid-write)."""
        self._processor.give_up(inputs)

    def abandon(self, messages: Iterable[OutputMessage]) -> None:
        """Audit messages that may not have been written: reload their chains before sealing."""
        self._processor.abandon({m.partition for m in messages if m.partition is not None})

    async def write_checkpoints(self, write: Write, partitions: Iterable[int] | None = None) -> int:
        """Write the checkpoints due now, or every pending one of ``partitions``; one attempt,
        since a failure only postpones them (the next checkpoint covers the same records)."""
        messages = self._processor.checkpoints(
            datetime.now(UTC), partitions=partitions, force=partitions is not None
        )
        if not messages:
            return 0
        try:
            await write(messages)
        except AUDIT_UNAVAILABLE as exc:
            self.abandon(messages)
            log.warning(
                "audit checkpoint not written (%s: %s); retried later", type(exc).__name__, exc
            )
            return 0
        return len(messages)

    def listener(
        self, committed: Committed, partitions_for: PartitionsFor, write: Write
    ) -> ConsumerRebalanceListener:
        """For the group consumer: checkpoint and forget partitions before they move (after the
        batch in hand), and continue the chains of new ones before their first batch."""
        return _Rebalance(self, committed, partitions_for, write)

    async def reseal(self, messages: list[OutputMessage], now: datetime) -> list[OutputMessage]:
        """After a failed write: continue from what the topic now holds and seal ``messages``
        again (any that did land stay, as repeats with the same ``decision_id``)."""
        if not self._processor.audit_chained or not messages:
            return messages
        partitions = {m.partition for m in messages if m.partition is not None}
        async with asyncio.timeout(self._timeout):
            tails = await self._reader.last_messages(partitions)
        return self._processor.reseal(messages, tails, now)

    async def _learn_layout(
        self, inputs: list[TopicPartition], partitions_for: PartitionsFor
    ) -> None:
        count = len(await partitions_for(self._topic))
        self._processor.set_audit_layout(count)
        self._layout_known = True
        widest = max([len(await partitions_for(t)) for t in {tp.topic for tp in inputs}])
        if self._shard is None and count < widest:
            log.warning(
                "the audit topic %s has %d partition(s), fewer than the input topics' %d: with "
                "more than one gateway instance in the group, two could write the same audit "
                "partition and fork its chain; give it at least %d partitions",
                self._topic,
                count,
                widest,
                widest,
            )
        elif self._shard is not None and count % self._shard[1] != 0:
            log.warning(
                "the audit topic %s has %d partition(s), not a multiple of the %d shards: two "
                "shards could write the same audit partition and fork its chain",
                self._topic,
                count,
                self._shard[1],
            )


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(
        self, keeper: AuditKeeper, committed: Committed, partitions_for: PartitionsFor, write: Write
    ) -> None:
        self._keeper = keeper
        self._committed = committed
        self._partitions_for = partitions_for
        self._write = write

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        keeper = self._keeper
        async with keeper.lock:  # waits for the batch in hand
            await keeper.write_checkpoints(self._write, keeper.audit_partitions(revoked))
            keeper.release(revoked)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        await self._keeper.try_prepare(assigned, self._committed, self._partitions_for)
