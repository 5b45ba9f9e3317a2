"""The runner's cap keeper: counters of capped partitions restored when they are gained, dropped
when they move."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Collection
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from capped_support import CODEC, KEY, capped_processor
from factories_support import ProducerFactory

from gateway.embedded.broker import EmbeddedBroker
from gateway.envelope.models import ExchangeRequest
from gateway.exchange.messages import InputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.policy import InMemoryVolumeCounter
from gateway.testing import fresh_topics
from gateway.transport.cap_keeper import CapKeeper
from gateway.transport.produce import send_and_wait_all
from gateway.transport.topics import TopicNames
from gateway.transport.volume_restore import cap_partition

pytestmark = pytest.mark.kafka

OWNED = cap_partition(KEY, 4)


def _processor(topics: TopicNames) -> ExchangeProcessor:
    return capped_processor(topics, {"per_day": 10}, audit_partitions=4)


async def _approve(producer: AIOKafkaProducer, topics: TopicNames, count: int) -> None:
    """Have another instance approve ``count`` requests of ``KEY`` and audit them."""
    owner = _processor(topics)
    owner.restore_caps({OWNED: InMemoryVolumeCounter()})
    now = datetime.now(UTC)
    requests = [
        ExchangeRequest(
            request_id=f"r-{uuid.uuid4().hex[:8]}",
            requester="nhs",
            provider="ho",
            agreement_id="nhs-ho-capped",
            purpose="status",
            query={"person_id": f"HO-{i}"},
            sent_at=now,
        )
        for i in range(count)
    ]
    arrived = [
        InputMessage(topics.requests("nhs"), 0, i, None, CODEC.encode(r))
        for i, r in enumerate(requests)
    ]
    forwards = owner.process_batch(arrived, now).routed
    capped = [InputMessage(f.topic, OWNED, i, f.key, f.value) for i, f in enumerate(forwards)]
    await send_and_wait_all(producer, owner.process_batch(capped, now).audit)


class _Inner(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        return None


async def test_an_assigned_capped_partition_is_restored_afresh_and_a_revoked_one_dropped(
    broker: EmbeddedBroker, producer_factory: ProducerFactory
) -> None:
    topics = fresh_topics(broker, 4, departments=["nhs", "ho"])
    producer = await producer_factory()
    await _approve(producer, topics, 2)
    processor = _processor(topics)
    stale = InMemoryVolumeCounter()  # from an earlier ownership
    processor.restore_caps({OWNED: stale})
    keeper = CapKeeper(
        processor,
        bootstrap=broker.bootstrap,
        topics=topics,
        departments=["nhs", "ho"],
        lock=asyncio.Lock(),
    )
    listener = keeper.listener(_Inner(), producer.partitions_for)
    owned = TopicPartition(topics.capped, OWNED)

    await listener.on_partitions_assigned([owned, TopicPartition(topics.requests("nhs"), OWNED)])

    restored = processor.cap_counters[OWNED]
    assert restored is not stale
    assert restored.usage(KEY, datetime.now(UTC))[1] == 2  # the day's approvals of its keys
    assert set(processor.cap_counters) == {OWNED}

    await listener.on_partitions_revoked([owned])
    assert processor.cap_counters == {}


async def test_a_capped_topic_with_another_partition_count_is_warned_about(
    broker: EmbeddedBroker, producer_factory: ProducerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    topics = TopicNames(f"t{uuid.uuid4().hex[:10]}")
    broker.create_topics([topics.requests("nhs"), topics.audit], 4)
    broker.create_topics([topics.capped], 2)
    producer = await producer_factory()
    keeper = CapKeeper(
        _processor(topics),
        bootstrap=broker.bootstrap,
        topics=topics,
        departments=["nhs"],
        lock=asyncio.Lock(),
    )

    with caplog.at_level(logging.WARNING, logger="gateway.policy"):
        await keeper.prepare([TopicPartition(topics.capped, 0)], producer.partitions_for)

    assert "has 2 partition(s), the requests topics 4" in caplog.text
