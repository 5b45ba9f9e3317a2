"""Exactly-once writes: one Kafka transaction per batch and lane, with zombie fencing.

A *lane* is an audit partition: input partition ``p`` belongs to lane ``p % audit partitions``,
and the range assignor gives every input partition of one lane to the same instance (the audit
partition invariant of :mod:`gateway.transport.audit_keeper`). Each lane has its own
transactional producer, ``transactional.id = <group>.lane-<n>``. aiokafka lacks KIP-447 (no
consumer-group metadata in ``TxnOffsetCommit``), so fencing is done the classic way: whoever
takes a lane over starts its producer with the same transactional id, and Kafka then aborts any
transaction the previous owner left open and rejects that owner's later writes
(``ProducerFenced``). The new owner reads its input offsets only after that, so it starts exactly
where the last committed transaction ended.

Per batch and lane, in one transaction: the audit records (sent and acknowledged first, so the
audit-before-routing rule holds inside the transaction), then the routed messages, replies and
dead letters, then the input offsets. Consumers that read committed see all of it or none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, ProducerFenced

from gateway.errors import TransportError
from gateway.exchange.messages import OutputMessage
from gateway.transport.clients import output_producer
from gateway.transport.closing import stop_client
from gateway.transport.produce import send_and_wait_all

__all__ = ["LaneFenced", "TransactionalLanes"]

log = logging.getLogger("gateway.runner")


class LaneFenced(TransportError):
    """Another instance took this lane over: its transactions are now the valid ones."""

    code = "lane_fenced"
    retriable = False


class TransactionalLanes:
    """The transactional producers of the lanes one gateway instance owns."""

    def __init__(
        self,
        *,
        bootstrap: str,
        group_id: str,
        request_timeout_ms: int,
        transaction_timeout_ms: int = 60_000,
    ) -> None:
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._request_timeout_ms = request_timeout_ms
        self._transaction_timeout_ms = transaction_timeout_ms
        self._producers: dict[int, AIOKafkaProducer] = {}
        self.commits = 0
        self.aborts = 0

    def transactional_id(self, lane: int) -> str:
        return f"{self._group_id}.lane-{lane}"

    async def open(self, lanes: Sequence[int] | set[int]) -> None:
        """Start the producers of newly owned lanes; this fences their previous owners."""
        for lane in sorted(set(lanes) - set(self._producers)):
            producer = output_producer(
                self._bootstrap,
                request_timeout_ms=self._request_timeout_ms,
                transactional_id=self.transactional_id(lane),
                transaction_timeout_ms=self._transaction_timeout_ms,
            )
            try:
                await producer.start()  # InitProducerId: aborts the old owner's open transaction
            except BaseException:
                await producer.stop()
                raise
            self._producers[lane] = producer

    async def close(
        self, lanes: Sequence[int] | set[int] | None = None, *, within: float | None = None
    ) -> None:
        """Stop the producers of lanes given up (all of them by default), each within ``within``
        seconds (the request timeout by default); an open transaction is left to the broker,
        which aborts it when the lane's next producer starts or the transaction times out."""
        limit = self._request_timeout_ms / 1000 if within is None else within
        for lane in sorted(set(self._producers) if lanes is None else set(lanes)):
            producer = self._producers.pop(lane, None)
            if producer is not None:
                await stop_client(producer, f"lane {lane} producer", limit)

    @property
    def lanes(self) -> set[int]:
        return set(self._producers)

    async def write(
        self,
        lane: int,
        audit: Sequence[OutputMessage],
        outputs: Sequence[OutputMessage] = (),
        offsets: Mapping[TopicPartition, int] | None = None,
    ) -> None:
        """Write ``audit`` (acknowledged first), then ``outputs``, then commit ``offsets``, as
        one transaction. On any failure the transaction is aborted and the error raised:
        :class:`LaneFenced` if another instance owns the lane now."""
        if not audit and not outputs and not offsets:
            return
        if lane not in self._producers:
            await self.open([lane])
        producer = self._producers[lane]
        try:
            await producer.begin_transaction()
            await send_and_wait_all(producer, audit)
            await send_and_wait_all(producer, outputs)
            if offsets:
                await producer.send_offsets_to_transaction(dict(offsets), self._group_id)
            await producer.commit_transaction()
        except ProducerFenced as exc:
            await self.close([lane])
            raise LaneFenced(f"lane {lane} is now written by another gateway instance") from exc
        except BaseException:
            await self._abort(lane, producer)
            raise
        self.commits += 1

    async def _abort(self, lane: int, producer: AIOKafkaProducer) -> None:
        """Abort the open transaction, then retire the lane's producer.

        A failed send leaves the idempotent producer's sequence numbers for that partition out of
        step with the broker (aiokafka cannot bump the epoch as the Java client does), so its next
        transaction would wait forever. The lane is reopened on its next write with a fresh
        producer, whose start also aborts whatever the broker still holds open if the abort here
        could not be completed."""
        self.aborts += 1
        try:
            if producer._txn_manager is not None and producer._txn_manager.is_in_transaction():
                async with asyncio.timeout(self._request_timeout_ms / 1000):
                    await producer.abort_transaction()
        except (KafkaError, TransportError, TimeoutError) as exc:
            log.warning("lane %d: transaction abort failed (%s); left to the next owner", lane, exc)
        await self.close([lane])
