"""The runner's audit keeper on the embedded broker: chains continued from the audit topic,
signed and forgotten when partitions move, sealed again after a write that may have landed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from factories_support import ProducerFactory

from gateway.audit.chain import is_checkpoint, read_link
from gateway.audit.files import read_export
from gateway.audit.verify import verify_export
from gateway.embedded.broker import EmbeddedBroker
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditCheckpoint, AuditRecord
from gateway.errors import ChainBrokenError
from gateway.exchange.messages import InputMessage, OutputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.service import build_processor
from gateway.settings import GatewaySettings
from gateway.testing import fresh_topics
from gateway.transport.audit_keeper import AuditKeeper
from gateway.transport.audit_log import export_audit
from gateway.transport.produce import send_and_wait_all
from gateway.transport.topics import TopicNames

CODEC = Codec.default()
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class Instance:
    """A processor and its keeper, writing through a producer: a runner without the consumer."""

    def __init__(self, bootstrap: str, topics: TopicNames, name: str, producer: AIOKafkaProducer):
        settings = GatewaySettings(
            bootstrap=bootstrap, topic_prefix=topics.prefix, instance_id=name
        )
        self.processor: ExchangeProcessor = build_processor(settings)
        self.keeper = AuditKeeper(
            self.processor, bootstrap=bootstrap, topic=topics.audit, timeout_s=5, shard=None
        )
        self.topics = topics
        self.producer = producer
        self.offsets: dict[int, int] = {}

    async def __aenter__(self) -> Instance:
        await self.keeper.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.keeper.stop()

    async def committed(self, tp: TopicPartition) -> int | None:
        return None

    async def prepare(self, *partitions: int) -> None:
        tps = [TopicPartition(self.topics.requests("nhs"), p) for p in partitions]
        await self.keeper.prepare(tps, self.committed, self.producer.partitions_for)

    def process(self, partition: int, count: int) -> list[OutputMessage]:
        offset = self.offsets.get(partition, 0)
        self.offsets[partition] = offset + count
        inputs = [
            InputMessage(self.topics.requests("nhs"), partition, o, b"k", b"junk")
            for o in range(offset, offset + count)
        ]
        return self.processor.process_batch(inputs, NOW).audit

    async def write(self, messages: list[OutputMessage]) -> None:
        await send_and_wait_all(self.producer, messages)


async def exported(bootstrap: str, topics: TopicNames, path: Path) -> list[bytes]:
    await export_audit(bootstrap, topics, path)
    report = verify_export(path)
    # Partition 1's chain verifies; the others were never written, and are reported as empty.
    assert [(f.partition, "no messages" in f.problem) for f in report.problems] == [
        (0, True),
        (2, True),
        (3, True),
    ], report.describe()
    _, messages = read_export(path)
    return [m.value for m in messages if m.partition == 1]


async def test_a_new_owner_continues_the_chain_its_predecessor_signed_when_letting_go(
    broker: EmbeddedBroker, bootstrap: str, producer_factory: ProducerFactory, tmp_path: Path
) -> None:
    topics = fresh_topics(broker, partitions=4)
    producer = await producer_factory()
    async with (
        Instance(bootstrap, topics, "old", producer) as old,
        Instance(bootstrap, topics, "new", producer) as new,
    ):
        await old.prepare(1)
        await old.write(old.process(1, 3))
        listener = old.keeper.listener(old.committed, producer.partitions_for, old.write)
        await listener.on_partitions_revoked([TopicPartition(topics.requests("nhs"), 1)])
        assert old.processor.held_audit_partitions == []

        await new.prepare(1)
        await new.write(new.process(1, 2))

    values = await exported(bootstrap, topics, tmp_path / "audit.jsonl")
    assert [read_link(v)[1] for v in values] == [0, 1, 2, 3, 4, 5]
    assert CODEC.decode(values[3], AuditCheckpoint).gateway_instance == "old"
    assert [CODEC.decode(v, AuditRecord).gateway_instance for v in values[4:]] == ["new", "new"]


async def test_revocation_waits_for_the_batch_in_hand_before_signing(
    broker: EmbeddedBroker, bootstrap: str, producer_factory: ProducerFactory, tmp_path: Path
) -> None:
    topics = fresh_topics(broker, partitions=4)
    producer = await producer_factory()
    async with Instance(bootstrap, topics, "gw", producer) as gw:
        await gw.prepare(1)
        listener = gw.keeper.listener(gw.committed, producer.partitions_for, gw.write)
        async with gw.keeper.lock:  # a batch in hand
            revoking = asyncio.create_task(
                listener.on_partitions_revoked([TopicPartition(topics.requests("nhs"), 1)])
            )
            await asyncio.sleep(0.2)
            assert not revoking.done()
            await gw.write(gw.process(1, 2))
        await revoking

    values = await exported(bootstrap, topics, tmp_path / "audit.jsonl")
    assert [is_checkpoint(CODEC, v) for v in values] == [False, False, True]


async def test_a_retried_write_is_sealed_again_after_what_landed(
    broker: EmbeddedBroker, bootstrap: str, producer_factory: ProducerFactory, tmp_path: Path
) -> None:
    topics = fresh_topics(broker, partitions=4)
    producer = await producer_factory()
    async with Instance(bootstrap, topics, "gw", producer) as gw:
        await gw.prepare(1)
        batch = gw.process(1, 2)
        await gw.write(batch)  # it landed, but say the acknowledgement was lost

        await gw.write(await gw.keeper.reseal(batch, NOW))

    values = await exported(bootstrap, topics, tmp_path / "audit.jsonl")
    decisions = [CODEC.decode(v, AuditRecord).decision_id for v in values]
    assert decisions[:2] == decisions[2:]  # repeated records, one unbroken chain


async def test_an_audit_partition_that_does_not_end_in_a_chain_link_is_not_continued(
    broker: EmbeddedBroker, bootstrap: str, producer_factory: ProducerFactory
) -> None:
    topics = fresh_topics(broker, partitions=4)
    producer = await producer_factory()
    await producer.send_and_wait(topics.audit, b"written by someone else", partition=1)
    async with Instance(bootstrap, topics, "gw", producer) as gw:
        with pytest.raises(ChainBrokenError, match="chain link"):
            await gw.prepare(1)
