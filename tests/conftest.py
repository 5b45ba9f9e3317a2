"""Fixtures for every test: one embedded broker per session, fresh topics, and Kafka clients that
are always stopped (warnings are errors, so a leaked client fails its test)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from gateway.settings import DEFAULT_DEPARTMENTS
from gateway.transport.broker import EmbeddedBroker, start_gateway_broker
from gateway.transport.topics import TopicNames

ProducerFactory = Callable[..., Awaitable[AIOKafkaProducer]]
ConsumerFactory = Callable[..., Awaitable[AIOKafkaConsumer]]
TopicFactory = Callable[..., str]


@pytest.fixture(scope="session")
def topic_names() -> TopicNames:
    """The gateway's topic names with the default prefix."""
    return TopicNames()


@pytest.fixture(scope="session")
def broker(topic_names: TopicNames) -> Iterator[EmbeddedBroker]:
    """The embedded broker with every gateway topic of the default departments, 4 partitions."""
    embedded = start_gateway_broker(topic_names, DEFAULT_DEPARTMENTS, partitions=4)
    yield embedded
    embedded.stop()


@pytest.fixture(scope="session")
def bootstrap(broker: EmbeddedBroker) -> str:
    """Bootstrap address for clients; ``tests/real_kafka`` overrides it with Apache Kafka's."""
    return broker.bootstrap


@pytest.fixture
def topic_factory(broker: EmbeddedBroker, request: pytest.FixtureRequest) -> TopicFactory:
    """``make(partitions=1, prefix="test") -> name``: a new topic that no other test uses."""
    test_name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:80]

    def make(partitions: int = 1, prefix: str = "test") -> str:
        name = f"{prefix}.{test_name}.{uuid.uuid4().hex[:8]}"
        broker.create_topics([name], partitions)
        return name

    return make


@pytest.fixture
async def producer_factory(bootstrap: str) -> AsyncIterator[ProducerFactory]:
    """``await make(**config)``: a started AIOKafkaProducer, stopped when the test ends."""
    producers: list[AIOKafkaProducer] = []

    async def make(**config: Any) -> AIOKafkaProducer:
        config.setdefault("bootstrap_servers", bootstrap)
        producer = AIOKafkaProducer(**config)
        producers.append(producer)
        await producer.start()
        return producer

    yield make
    for producer in reversed(producers):
        await producer.stop()


@pytest.fixture(scope="session")
def group_timeouts() -> dict[str, int]:
    """Consumer-group timeouts for the broker under test. On the embedded broker a member that
    joins just after another left waits ``session_timeout_ms`` - 1 s (at least 1 s), so keep the
    session short; ``tests/real_kafka`` overrides this with Kafka's defaults."""
    return {"session_timeout_ms": 2000, "heartbeat_interval_ms": 500}


@pytest.fixture
async def consumer_factory(
    bootstrap: str, group_timeouts: dict[str, int]
) -> AsyncIterator[ConsumerFactory]:
    """``await make(*topics, **config)``: a started AIOKafkaConsumer reading from the earliest
    offset (group-less unless ``group_id`` is given), stopped when the test ends."""
    consumers: list[AIOKafkaConsumer] = []

    async def make(*topics: str, **config: Any) -> AIOKafkaConsumer:
        config.setdefault("bootstrap_servers", bootstrap)
        config.setdefault("auto_offset_reset", "earliest")
        if config.get("group_id") is not None:
            for key, value in group_timeouts.items():
                config.setdefault(key, value)
        consumer = AIOKafkaConsumer(*topics, **config)
        consumers.append(consumer)
        await consumer.start()
        return consumer

    yield make
    for consumer in reversed(consumers):
        await consumer.stop()
