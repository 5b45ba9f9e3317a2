"""What the processor keeps of the partitions its runner owns, and how they change hands.

Input partition ``p`` is audited on audit partition ``p % A`` (``A``: the audit topic's partition
count, :meth:`Ownership.set_layout`). Before the first record of a newly owned input partition is
processed, the runner reads what Kafka holds and hands it over (:meth:`Ownership.take_over`): the
partition's committed offset, where its next record is expected (a later first offset is an input
gap), and the last message of its audit partition, after which that chain continues (an empty
partition is owed a genesis checkpoint). A partition given up (:meth:`Ownership.give_up`), or an
audit partition whose last writes may not have landed (:meth:`Ownership.abandon`), is forgotten
and taken over afresh. The volume counters of capped partitions are restored and dropped the same
way (:meth:`Ownership.restore_caps`, :meth:`Ownership.drop_caps`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from gateway.audit.chain import CHECKPOINT_KEY, ChainHead
from gateway.audit.gaps import InputGapDetector
from gateway.envelope.headers import schema_header
from gateway.envelope.models import AuditCheckpoint
from gateway.exchange.auditing import AuditTrail
from gateway.exchange.messages import OutputMessage
from gateway.policy import VolumeCounter

__all__ = ["InputPartition", "Ownership"]

log = logging.getLogger("gateway.audit")

InputPartition = tuple[str, int]
"""``(topic, partition)`` of an input partition (an aiokafka ``TopicPartition`` is one)."""

_CHECKPOINT = schema_header(AuditCheckpoint)


class Ownership:
    """Chain heads, input-gap expectations and volume counters of the partitions owned (the
    processor's operations of the same names say what each does)."""

    __slots__ = ("_caps", "_gaps", "_inputs", "_topic", "_trail")

    def __init__(self, trail: AuditTrail, audit_topic: str) -> None:
        self._trail = trail
        self._topic = audit_topic
        self._inputs: set[InputPartition] = set()
        self._gaps = InputGapDetector()
        self._caps: dict[int, VolumeCounter] = {}

    @property
    def gaps(self) -> InputGapDetector:
        return self._gaps

    @property
    def caps(self) -> Mapping[int, VolumeCounter]:
        return self._caps

    # --- input and audit partitions -------------------------------------------------------------

    def set_layout(self, partitions: int) -> None:
        self._trail.partitions = partitions

    def audit_partition_of(self, input_partition: int) -> int:
        return input_partition % self._trail.partitions

    def awaiting(self, inputs: Iterable[InputPartition]) -> list[InputPartition]:
        return [tp for tp in inputs if (tp[0], tp[1]) not in self._inputs]

    def tails_needed(self, inputs: Iterable[InputPartition]) -> set[int]:
        chain = self._trail.chain
        if not chain.chained:
            return set()
        partitions = {self.audit_partition_of(tp[1]) for tp in inputs}
        return {p for p in partitions if not chain.has_head(p)}

    def take_over(
        self, offsets: Mapping[InputPartition, int | None], tails: Mapping[int, bytes | None]
    ) -> None:
        self._continue(tails)
        for (topic, partition), offset in offsets.items():
            if offset is not None:
                self._gaps.expect(topic, partition, offset)
            self._inputs.add((topic, partition))

    def give_up(self, inputs: Iterable[InputPartition]) -> None:
        inputs = [(topic, partition) for topic, partition in inputs]
        for topic, partition in inputs:
            self._gaps.forget(topic, partition)
        self._inputs.difference_update(inputs)
        self.abandon({self.audit_partition_of(p) for _, p in inputs})

    def abandon(self, partitions: Iterable[int]) -> None:
        partitions = set(partitions)
        self._trail.chain.forget(partitions)
        self._inputs = {
            tp for tp in self._inputs if self.audit_partition_of(tp[1]) not in partitions
        }

    # --- sealing again, checkpoints ------------------------------------------------------------

    def reseal(
        self, messages: Sequence[OutputMessage], tails: Mapping[int, bytes | None], now: datetime
    ) -> list[OutputMessage]:
        chain = self._trail.chain
        if not chain.chained:
            return list(messages)
        self._continue(tails)
        return [
            m
            if m.partition is None
            else OutputMessage(
                m.topic, m.key, chain.reseal(m.partition, m.value, now), m.partition, m.headers
            )
            for m in messages
        ]

    def checkpoints(
        self, now: datetime, partitions: Iterable[int] | None, force: bool
    ) -> list[OutputMessage]:
        topic = self._topic
        return [
            OutputMessage(topic, CHECKPOINT_KEY, value, partition, [_CHECKPOINT])
            for partition, value in self._trail.chain.checkpoints(
                now, partitions=partitions, force=force
            )
        ]

    # --- volume caps ----------------------------------------------------------------------------

    def caps_missing(self, partitions: Iterable[int]) -> list[int]:
        return sorted(set(partitions) - self._caps.keys())

    def restore_caps(self, counters: Mapping[int, VolumeCounter]) -> None:
        self._caps.update(counters)

    def drop_caps(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._caps.pop(partition, None)

    # --- heads ----------------------------------------------------------------------------------

    def _continue(self, tails: Mapping[int, bytes | None]) -> None:
        """Continue each partition's chain after its last message (None: found empty); raises
        ``ChainBrokenError``, changing nothing, when a last message is not a chain link."""
        heads = {p: ChainHead.after(last) for p, last in tails.items() if last is not None}
        chain = self._trail.chain
        for partition in tails:
            if partition not in heads:  # empty: sign its genesis, or it would verify as deleted
                chain.start_empty(partition)
                log.debug("audit partition %d is empty: its chain starts at genesis", partition)
                continue
            head = heads[partition]
            if head is None:
                log.warning(
                    "audit partition %d ends with a record written with the chain switched off; "
                    "a new chain starts there from the genesis value",
                    partition,
                )
            chain.set_head(partition, head)
            log.debug("audit partition %d continues at %s", partition, head or "genesis")
