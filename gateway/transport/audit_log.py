"""Reading the audit topic: every message for export and verification, or each partition's last.

Group-less consumers only: reading the audit log never moves anyone's committed offsets.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from gateway.audit.chain import is_checkpoint
from gateway.audit.files import ExportedMessage, ExportWriter, write_checkpoints
from gateway.envelope.codec import Codec
from gateway.errors import TransportError
from gateway.transport.closing import stop_client
from gateway.transport.read_back import last_records, read_to_ends
from gateway.transport.topics import READ_COMMITTED, READ_UNCOMMITTED, TopicNames

__all__ = ["AuditExport", "AuditTailReader", "export_audit", "read_audit_log"]


@dataclass(frozen=True, slots=True)
class AuditExport:
    """What :func:`export_audit` wrote."""

    path: Path
    topic: str
    partitions: int
    messages: int
    checkpoints_path: Path | None = None
    checkpoints: int = 0


async def read_audit_log(
    bootstrap: str, topic: str, *, idle_timeout: float = 30.0, settle_s: float = 5.0
) -> tuple[int, list[ExportedMessage]]:
    """The partition count and every message of ``topic`` (see :func:`iter_audit_log`), in
    memory: for modest logs; :func:`export_audit` streams to a file instead."""
    count = await _partition_count(bootstrap, topic)
    messages = [
        m
        async for m in iter_audit_log(
            bootstrap, topic, idle_timeout=idle_timeout, settle_s=settle_s
        )
    ]
    return count, messages


async def iter_audit_log(
    bootstrap: str,
    topic: str,
    *,
    idle_timeout: float = 30.0,
    settle_s: float = 5.0,
) -> AsyncIterator[ExportedMessage]:
    """Every committed message of ``topic`` present when the read began, partition by
    partition in offset order.

    A transaction the gateway committed just before is included even when Kafka has not yet
    written its commit markers (they follow the commit asynchronously, and until then the
    partition's committed end stays before it): each partition's read waits up to ``settle_s``
    seconds for its committed end to reach the end it had when the read began. A transaction
    still open after that (a writer that died mid-transaction, aborted later by Kafka) is left
    out, as it may never commit.

    Raises :class:`TransportError` when Kafka cannot be read or ``idle_timeout`` seconds pass
    without progress.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=READ_COMMITTED,
    )
    try:
        async with asyncio.timeout(idle_timeout):
            await consumer.start()
            partitions = await _partitions(consumer, topic)
            written = await _written_ends(bootstrap, [TopicPartition(topic, p) for p in partitions])
        for partition in partitions:
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            async with asyncio.timeout(idle_timeout + settle_s):
                end = await _committed_end(consumer, tp, written[tp], settle_s)
                await consumer.seek_to_beginning(tp)
            async for _, records in read_to_ends(consumer, {tp: end}, idle_timeout=idle_timeout):
                for r in records:
                    yield ExportedMessage(partition, r.offset, r.value)
    except TimeoutError:
        raise TransportError(
            f"reading {topic} from {bootstrap}: no progress for {idle_timeout:g}s"
        ) from None
    except KafkaError as exc:
        raise TransportError(f"cannot read {topic} from {bootstrap}: {exc}") from exc
    finally:
        await consumer.stop()


async def export_audit(
    bootstrap: str,
    topics: TopicNames,
    path: Path | str,
    *,
    checkpoints_path: Path | str | None = None,
) -> AuditExport:
    """Export the audit topic to ``path`` (see :mod:`gateway.audit.files`); with
    ``checkpoints_path``, also save each partition's latest checkpoint there."""
    codec = Codec.default()
    count = await _partition_count(bootstrap, topics.audit)
    latest: dict[int, ExportedMessage] = {}
    with ExportWriter(path, topics.audit, count) as out:
        async for message in iter_audit_log(bootstrap, topics.audit):
            out.write(message)
            if is_checkpoint(codec, message.value):
                latest[message.partition] = message
    done = AuditExport(Path(path), topics.audit, count, out.count)
    if checkpoints_path is None:
        return done
    saved = write_checkpoints(checkpoints_path, topics.audit, latest.values())
    return dataclasses.replace(done, checkpoints_path=Path(checkpoints_path), checkpoints=saved)


class AuditTailReader:
    """Reads the last message of audit partitions, to continue their chains."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._topic = topic
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level=READ_COMMITTED,
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self, within: float = 10.0) -> None:
        """Close the consumer within ``within`` seconds, started or not (an unstarted one holds
        a client too)."""
        await stop_client(self._consumer, "the audit tail reader", within)

    async def partition_count(self) -> int:
        return len(await _partitions(self._consumer, self._topic))

    async def last_messages(self, partitions: Iterable[int]) -> dict[int, bytes | None]:
        """Each partition's last committed message; None for a partition with none left.

        See :func:`gateway.transport.read_back.last_records`.
        """
        consumer = self._consumer
        tps = [TopicPartition(self._topic, p) for p in partitions]
        consumer.assign(tps)
        begins = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        found = await last_records(consumer, begins, ends)
        return {tp.partition: found[tp].value if tp in found else None for tp in tps}


async def _written_ends(bootstrap: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """Each partition's end, committed or not (its high watermark); no record is read."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level=READ_UNCOMMITTED
    )
    try:
        await consumer.start()
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        return ends
    finally:
        await consumer.stop()


async def _committed_end(
    consumer: AIOKafkaConsumer, tp: TopicPartition, written: int, settle_s: float
) -> int:
    """``tp``'s committed end, once it has reached ``written`` or ``settle_s`` seconds passed."""
    deadline = asyncio.get_running_loop().time() + settle_s
    while True:
        end: int = (await consumer.end_offsets([tp]))[tp]
        if end >= written or asyncio.get_running_loop().time() >= deadline:
            return end
        await asyncio.sleep(0.05)


async def _partition_count(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level=READ_COMMITTED)
    try:
        await consumer.start()
        return len(await _partitions(consumer, topic))
    except KafkaError as exc:
        raise TransportError(f"cannot read {topic} from {bootstrap}: {exc}") from exc
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer._client.force_metadata_update()  # no public way to refresh metadata
        partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise TransportError(f"topic {topic} does not exist or has no partitions")
    return sorted(partitions)
