"""Recall at start: the replies and inbox records of the last token lifetime are read back into the
de-duplication memory, and what cannot be read moves the replay horizon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from factories_support import ProducerFactory

from gateway.embedded.broker import EmbeddedBroker
from gateway.envelope.codec import Codec
from gateway.envelope.models import Reply, ReplyOutcome, ResponseStatus
from gateway.exchange.processor import ExchangeProcessor
from gateway.service import build_processor
from gateway.settings import GatewaySettings
from gateway.testing import fresh_topics
from gateway.transport.recall import recall_recent_outputs
from gateway.transport.topics import TopicNames

pytestmark = pytest.mark.kafka

CODEC = Codec.default()
DEPTS = ("ho", "nhs")


def _answer(request_id: str, at: datetime) -> bytes:
    return CODEC.encode(
        Reply(
            request_id=request_id,
            requester="nhs",
            provider="ho",
            agreement_id="nhs-ho-status-check",
            purpose="overseas-visitor-charging",
            outcome=ReplyOutcome.APPROVED,
            status=ResponseStatus.FOUND,
            policy_version="test",
            replied_at=at,
        )
    )


async def _recall(
    bootstrap: str, topics: TopicNames, capacity: int, now: datetime
) -> tuple[ExchangeProcessor, int]:
    processor = build_processor(
        GatewaySettings(topic_prefix=topics.prefix, departments=DEPTS, dedupe_capacity=capacity)
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        read = await recall_recent_outputs(
            processor,
            bootstrap=bootstrap,
            topics=topics,
            departments=DEPTS,
            partitions_for=producer.partitions_for,
            now=now,
        )
    finally:
        await producer.stop()
    return processor, read


async def _write(
    producer: AIOKafkaProducer, topic: str, replies: list[tuple[str, datetime]]
) -> None:
    for request_id, at in replies:
        value = _answer(request_id, at)
        await producer.send_and_wait(topic, value, timestamp_ms=int(at.timestamp() * 1000))


async def test_answers_of_the_last_token_lifetime_are_remembered_and_older_ones_are_not_read(
    broker: EmbeddedBroker, bootstrap: str, producer_factory: ProducerFactory
) -> None:
    topics = fresh_topics(broker, partitions=1, departments=DEPTS)
    now = datetime.now(UTC)
    producer = await producer_factory()
    await _write(producer, topics.replies("nhs"), [("recent", now - timedelta(minutes=5))])
    old_topic = topics.replies("ho")  # a partition whose newest reply is two days old
    await _write(producer, old_topic, [("old", now - timedelta(days=2))])

    processor, read = await _recall(bootstrap, topics, capacity=100, now=now)

    assert read == 1
    assert ("response", "ho", "recent") in processor.seen
    assert processor.seen.horizon is None


async def test_more_replies_than_the_memory_holds_move_the_horizon_to_the_first_one_read(
    broker: EmbeddedBroker, bootstrap: str, producer_factory: ProducerFactory
) -> None:
    topics = fresh_topics(broker, partitions=1, departments=DEPTS)
    now = datetime.now(UTC).replace(microsecond=0)
    producer = await producer_factory()
    times = [now - timedelta(hours=10 - i) for i in range(10)]
    await _write(producer, topics.replies("nhs"), [(f"r-{i}", t) for i, t in enumerate(times)])

    processor, read = await _recall(bootstrap, topics, capacity=8, now=now)

    assert read == 4  # the newest four: two keys each (request and response)
    assert ("response", "ho", "r-9") in processor.seen
    assert ("response", "ho", "r-5") not in processor.seen
    # r-5 and older are unread: everything up to the first one read (plus clock skew) is refused
    assert processor.seen.horizon == times[6] + timedelta(seconds=60)
