"""Tests that need Apache Kafka's own behaviour: consumer groups of several members, transactions,
retention, replication. They always run on Apache Kafka (``apache_kafka`` in tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from gateway.settings import DEFAULT_DEPARTMENTS
from gateway.testing import BrokerUnderTest, gateway_runner
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

GatewayTopics = Callable[..., TopicNames]
RunnerFactory = Callable[[TopicNames, str], GatewayRunner]


@pytest.fixture(scope="session")
def broker(apache_kafka: BrokerUnderTest) -> BrokerUnderTest:
    return apache_kafka


@pytest.fixture(scope="session")
def bootstrap(apache_kafka: BrokerUnderTest) -> str:
    return apache_kafka.bootstrap


@pytest.fixture
def gateway_topics(apache_kafka: BrokerUnderTest) -> GatewayTopics:
    """``make(partitions=4) -> TopicNames``: every gateway topic under a new prefix."""

    def make(partitions: int = 4) -> TopicNames:
        topics = TopicNames(f"rk{uuid.uuid4().hex[:8]}")
        apache_kafka.create_topics(topics.all_topics(list(DEFAULT_DEPARTMENTS)), partitions)
        return topics

    return make


@pytest.fixture
def gateway_runner_factory(apache_kafka: BrokerUnderTest) -> RunnerFactory:
    """``make(topics, instance) -> GatewayRunner`` on Apache Kafka."""

    def make(topics: TopicNames, instance: str) -> GatewayRunner:
        return gateway_runner(apache_kafka.bootstrap, topics, instance=instance)

    return make
