"""The reliability tests: a three-node Apache Kafka cluster of their own, shared by the folder's
tests (the faults they inject are repaired before each test ends)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from gateway.cluster import KafkaCluster


@pytest.fixture(scope="session")
def three_nodes() -> Iterator[KafkaCluster]:
    """Three combined broker/controller nodes from the pinned jars; topics replicated three
    times with ``min.insync.replicas`` 2."""
    if os.environ.get("GATEWAY_TEST_BROKER") == "embedded":
        pytest.skip("GATEWAY_TEST_BROKER=embedded: these tests need a three-node Apache Kafka")
    with KafkaCluster(3) as cluster:
        yield cluster
