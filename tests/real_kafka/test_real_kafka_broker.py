"""Apache Kafka (in Docker) does what the tests on the embedded broker assume of a broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka import TopicPartition
from factories_support import ConsumerFactory, ProducerFactory

pytestmark = pytest.mark.real_kafka

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


async def test_two_members_of_one_group_split_the_partitions(
    topic_factory: TopicFactory, consumer_factory: ConsumerFactory
) -> None:
    """What the embedded broker cannot do: it refuses a second group member."""
    topic = topic_factory(partitions=2)
    config = {"group_id": f"group-{topic}"}
    members = await asyncio.gather(*(consumer_factory(topic, **config) for _ in range(2)))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while not all(m.assignment() for m in members):
        assert loop.time() < deadline, "the group never gave both members a partition"
        await asyncio.sleep(0.1)
    first, second = (m.assignment() for m in members)
    assert first | second == {TopicPartition(topic, 0), TopicPartition(topic, 1)}
    assert not first & second
