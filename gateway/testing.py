"""Helpers for testing code that talks to the gateway: brokers, isolated topics, a runner on them.

Used by this project's tests and meant for departments' own tests, on the embedded broker or on
Apache Kafka started by :func:`start_test_kafka`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from gateway.cluster import KafkaAdmin, KafkaCluster
from gateway.embedded.identity import EMBEDDED_SESSION_TIMEOUT_MS, is_embedded
from gateway.envelope.signature import Headers, MessageSigner
from gateway.service import build_processor
from gateway.settings import DEFAULT_DEPARTMENTS, GatewaySettings
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

__all__ = [
    "BrokerUnderTest",
    "ExistingKafka",
    "fresh_topics",
    "gateway_runner",
    "signed_as_gateway",
    "start_test_kafka",
    "until",
]

DOCKER_KAFKA_IMAGE = "confluentinc/cp-kafka:7.7.1"
"""Apache Kafka 3.7 (KRaft) for the testcontainers path: its KafkaContainer is made for it."""


class BrokerUnderTest(Protocol):
    """What tests need of a broker, embedded or Apache Kafka."""

    @property
    def bootstrap(self) -> str: ...

    def create_topics(self, names: Iterable[str], partitions: int | None = None) -> list[str]: ...

    def block_writes(self, topic: str) -> None:
        """Make writes to ``topic`` fail until :meth:`allow_writes`."""

    def allow_writes(self, topic: str) -> None: ...

    def limit_retention(self, topic: str, max_bytes: int | None) -> None:
        """Let the broker delete data of ``topic`` beyond about ``max_bytes`` per partition
        (``None``: keep everything again)."""


class ExistingKafka:
    """An Apache Kafka cluster that something else started, known by its address."""

    def __init__(self, bootstrap: str, *, replicas: int = 1) -> None:
        self.admin = KafkaAdmin(bootstrap, replicas=replicas)

    @property
    def bootstrap(self) -> str:
        return self.admin.bootstrap

    def create_topics(self, names: Iterable[str], partitions: int | None = None) -> list[str]:
        return self.admin.create_topics(names, partitions)

    def block_writes(self, topic: str) -> None:
        self.admin.block_writes(topic)

    def allow_writes(self, topic: str) -> None:
        self.admin.allow_writes(topic)

    def limit_retention(self, topic: str, max_bytes: int | None) -> None:
        self.admin.limit_retention(topic, max_bytes)


@contextlib.contextmanager
def start_test_kafka(*, docker: bool = False) -> Iterator[BrokerUnderTest]:
    """Apache Kafka for a test session: ``GATEWAY_TEST_KAFKA_BOOTSTRAP`` if set, else a
    container (``docker=True``, testcontainers), else one node from the pinned jars."""
    existing = os.environ.get("GATEWAY_TEST_KAFKA_BOOTSTRAP")
    if existing:
        yield ExistingKafka(existing)
        return
    if docker:
        from testcontainers.community.kafka import KafkaContainer

        container = KafkaContainer(image=DOCKER_KAFKA_IMAGE).with_kraft()
        container.start(timeout=120)
        try:
            yield ExistingKafka(container.get_bootstrap_server())
        finally:
            container.stop()
        return
    with KafkaCluster(1) as cluster:
        yield cluster


def fresh_topics(
    broker: BrokerUnderTest,
    partitions: int = 4,
    *,
    departments: Sequence[str] = DEFAULT_DEPARTMENTS,
) -> TopicNames:
    """Gateway topics under a new random prefix, so tests never read each other's messages."""
    topics = TopicNames(f"t{uuid.uuid4().hex[:10]}")
    broker.create_topics(topics.all_topics(list(departments)), partitions)
    return topics


def gateway_runner(
    bootstrap: str,
    topics: TopicNames,
    *,
    group: str | None = None,
    instance: str = "gateway-test",
    settings: GatewaySettings | None = None,
    shard: tuple[int, int] | None = None,
    session_timeout_ms: int = EMBEDDED_SESSION_TIMEOUT_MS,
    transactions: bool | None = None,
) -> GatewayRunner:
    """A (not yet started) gateway runner on ``topics`` with quick timeouts for tests; it writes
    in transactions unless ``bootstrap`` is an embedded broker (or ``transactions`` says)."""
    settings = settings or GatewaySettings(
        bootstrap=bootstrap, topic_prefix=topics.prefix, instance_id=instance
    )
    return GatewayRunner(
        build_processor(settings),
        bootstrap=bootstrap,
        topics=topics,
        departments=settings.departments,
        group_id=group or f"{topics.prefix}-gateway",
        batch_timeout_ms=20,
        producer_request_timeout_ms=2000,
        shard=shard,
        session_timeout_ms=session_timeout_ms,
        transactions=not is_embedded(bootstrap) if transactions is None else transactions,
        transaction_timeout_ms=10_000,
    )


def signed_as_gateway(topic: str, value: bytes) -> Headers:
    """Kafka headers under which ``value`` sent to ``topic`` verifies as the gateway's, for tests
    that play the gateway (signed with the development key, which clients trust by default)."""
    return _development_signer().headers(topic, value)


@functools.cache
def _development_signer() -> MessageSigner:
    return MessageSigner.load()


async def until(condition: Callable[[], object], within: float = 20.0) -> None:
    """Wait until ``condition()`` holds, checking every 50 ms; fail the test after ``within``
    seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, f"timed out after {within:g} s"
        await asyncio.sleep(0.05)
