"""Apache Kafka in Docker (testcontainers) for the tests in this folder, which then run against it.

Without a reachable Docker engine every test here is skipped within milliseconds. The fixtures
``bootstrap``, ``topic_factory`` and ``group_timeouts`` are overridden, so the shared producer and
consumer factories talk to Apache Kafka here instead of the embedded broker.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest

if TYPE_CHECKING:
    from gateway.transport.runner import GatewayRunner
    from gateway.transport.topics import TopicNames

KAFKA_IMAGE = "confluentinc/cp-kafka:7.7.1"
"""Apache Kafka 3.7 in KRaft mode: testcontainers' KafkaContainer is made for this image family."""
KAFKA_START_TIMEOUT_S = 120
DOCKER_PROBE_TIMEOUT_S = 0.5
SKIP_REASON = (
    "Docker engine not reachable: "
    "real-Kafka tests need Docker (the embedded broker covers the rest)"
)

TopicFactory = Callable[..., str]


def _docker_reachable() -> bool:
    """Whether the engine that testcontainers would use answers ``/_ping``, within half a second.

    The docker SDK is not used for this check: when the engine is absent it leaks a socket, which
    is an error in this test suite.
    """
    url = urlparse(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
    tls = bool(os.environ.get("DOCKER_TLS_VERIFY") or os.environ.get("DOCKER_CERT_PATH"))
    try:
        if url.scheme == "unix":
            if not os.path.exists(url.path):
                return False
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(DOCKER_PROBE_TIMEOUT_S)
                sock.connect(url.path)
                return _pinged(sock)
        if url.scheme in ("tcp", "http", "https") and url.hostname:
            port = url.port or (2376 if tls else 2375)
            with socket.create_connection((url.hostname, port), DOCKER_PROBE_TIMEOUT_S) as sock:
                return tls or _pinged(sock)  # a TLS endpoint cannot be pinged in plain text
    except OSError:
        return False
    return False


def _pinged(sock: socket.socket) -> bool:
    sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
    reply = sock.recv(64)
    return reply.startswith(b"HTTP/1.") and b" 200 " in reply


@pytest.fixture(scope="session")
def real_kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a single-node Apache Kafka (KRaft) container, started once."""
    if not _docker_reachable():
        pytest.skip(SKIP_REASON)
    from testcontainers.community.kafka import KafkaContainer

    container = KafkaContainer(image=KAFKA_IMAGE).with_kraft()
    container.start(timeout=KAFKA_START_TIMEOUT_S)
    try:
        yield container.get_bootstrap_server()
    finally:
        container.stop()


@pytest.fixture(scope="session")
def bootstrap(real_kafka_bootstrap: str) -> str:
    """Clients in this folder talk to Apache Kafka."""
    return real_kafka_bootstrap


@pytest.fixture(scope="session")
def group_timeouts() -> dict[str, int]:
    """Kafka's own defaults: real brokers refuse sessions shorter than 6 s."""
    return {}


@pytest.fixture
def topic_factory(real_kafka_bootstrap: str, request: pytest.FixtureRequest) -> TopicFactory:
    """``make(partitions=1, prefix="test") -> name``: a new topic created with the admin API."""
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": real_kafka_bootstrap})
    test_name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:80]

    def make(partitions: int = 1, prefix: str = "test") -> str:
        name = f"{prefix}.{test_name}.{uuid.uuid4().hex[:8]}"
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)]
        )
        futures[name].result(timeout=30)
        return name

    return make


GatewayTopics = Callable[..., "TopicNames"]
RunnerFactory = Callable[["TopicNames", str], "GatewayRunner"]


@pytest.fixture
def gateway_topics(real_kafka_bootstrap: str) -> GatewayTopics:
    """``make(partitions=4) -> TopicNames``: every gateway topic under a new prefix."""
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    from gateway.settings import DEFAULT_DEPARTMENTS
    from gateway.transport.topics import TopicNames

    admin = AdminClient({"bootstrap.servers": real_kafka_bootstrap})

    def make(partitions: int = 4) -> TopicNames:
        topics = TopicNames(f"rk{uuid.uuid4().hex[:8]}")
        names = topics.all_topics(list(DEFAULT_DEPARTMENTS))
        futures = admin.create_topics([NewTopic(n, num_partitions=partitions) for n in names])
        for future in futures.values():
            future.result(timeout=30)
        return topics

    return make


@pytest.fixture
def gateway_runner_factory(real_kafka_bootstrap: str) -> RunnerFactory:
    """``make(topics, instance) -> GatewayRunner`` on Apache Kafka, with Kafka's own group
    session timeout (brokers refuse the short one used on the embedded broker)."""
    from gateway.testing import gateway_runner

    def make(topics: TopicNames, instance: str) -> GatewayRunner:
        return gateway_runner(
            real_kafka_bootstrap, topics, instance=instance, session_timeout_ms=10_000
        )

    return make
