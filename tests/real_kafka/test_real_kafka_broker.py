"""Apache Kafka (in Docker) does what the tests on the embedded broker assume of a broker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

pytestmark = pytest.mark.real_kafka

ProducerFactory = Callable[..., Awaitable[AIOKafkaProducer]]
ConsumerFactory = Callable[..., Awaitable[AIOKafkaConsumer]]
TopicFactory = Callable[..., str]


async def test_a_record_produced_with_key_and_headers_is_consumed_unchanged(
    topic_factory: TopicFactory,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    topic = topic_factory(partitions=2)
    producer = await producer_factory()
    assert await producer.partitions_for(topic) == {0, 1}
    sent = await producer.send_and_wait(topic, b"value", key=b"key", headers=[("h", b"1")])
    consumer = await consumer_factory()
    consumer.assign([TopicPartition(topic, sent.partition)])
    record = await asyncio.wait_for(consumer.getone(), 30)
    assert (record.key, record.value, list(record.headers)) == (b"key", b"value", [("h", b"1")])
    assert record.offset == sent.offset


async def test_a_consumer_group_resumes_from_its_committed_offset(
    topic_factory: TopicFactory,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    topic = topic_factory()
    producer = await producer_factory()
    for value in (b"a", b"b"):
        await producer.send_and_wait(topic, value)
    group = f"group-{topic}"

    first = await consumer_factory(topic, group_id=group, enable_auto_commit=False)
    assert (await asyncio.wait_for(first.getone(), 60)).value == b"a"
    await first.commit()
    await first.stop()

    second = await consumer_factory(topic, group_id=group, enable_auto_commit=False)
    assert (await asyncio.wait_for(second.getone(), 60)).value == b"b"
