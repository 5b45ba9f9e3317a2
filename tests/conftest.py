"""Fixtures for every test: the brokers, fresh topics, and Kafka clients that are always stopped
(warnings are errors, so a leaked client fails its test).

Which broker a test gets is decided here, once: unit-level tests get the embedded broker
(``broker``); the folders whose conftest calls for it (integration, department clients, real
Kafka) get Apache Kafka, started by the project on first use and shared by the session
(``apache_kafka``). ``GATEWAY_TEST_BROKER`` changes that choice:

- unset or ``kafka``: Apache Kafka from the pinned jars (``gateway.cluster``);
- ``embedded``: those folders run on the embedded broker too (a quick local run); tests that need
  Apache Kafka's own behaviour (``tests/real_kafka``) are then skipped, saying why;
- ``docker``: Apache Kafka in Docker through testcontainers.

``GATEWAY_TEST_KAFKA_BOOTSTRAP=host:port`` uses an Apache Kafka that is already running. The
audit store tests get a PostgreSQL server (``postgres_url``). Commands a test runs in-process set
up logging (``gateway.logs``); every test leaves it, and Kafka's reachability, as it found them.

With ``GATEWAY_TEST_NO_SKIPS=1`` (CI sets it, through ``.ci/run``) a test skipped for want of a
component fails instead, naming the reason: in CI every component must be there.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from factories_support import ConsumerFactory, ProducerFactory
from processor_support import ProcessorFactory, make_processor

from gateway import logs
from gateway.embedded.broker import EmbeddedBroker, start_gateway_broker
from gateway.settings import DEFAULT_DEPARTMENTS
from gateway.testing import BrokerUnderTest, start_test_kafka
from gateway.testing_postgres import throwaway_postgres, unavailable_reason
from gateway.transport.topics import TopicNames

NO_SKIPS = os.environ.get("GATEWAY_TEST_NO_SKIPS", "") not in ("", "0")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under ``GATEWAY_TEST_NO_SKIPS``, a skip becomes a failure that says why it was skipped."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if NO_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"GATEWAY_TEST_NO_SKIPS is set, and this test was skipped: {reason}"


TopicFactory = Callable[..., str]


@pytest.fixture(autouse=True)
def logging_as_found() -> Iterator[None]:
    """Undo what ``configure_logging`` did during the test: its handler, the levels, and what
    its filter learnt about Kafka (a later test's gateway would otherwise not be ready)."""
    root = logging.getLogger()
    level = root.level
    levels = {name: logging.getLogger(name).level for name in logs.QUIET_LIBRARIES}
    kafka, noise = dict(vars(logs.KAFKA)), dict(vars(logs.NOISE))
    yield
    for handler in [h for h in root.handlers if logs.NOISE in h.filters]:
        root.removeHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)
    vars(logs.KAFKA).update(kafka)
    vars(logs.NOISE).update(noise)


@pytest.fixture(scope="session")
def topic_names() -> TopicNames:
    """The gateway's topic names with the default prefix."""
    return TopicNames()


@pytest.fixture
def processor_factory() -> ProcessorFactory:
    """``make(policy=None, **options)``: an exchange processor with the test secrets, deciding
    under ``policy`` (default: the shipped agreements); see ``processor_support.py``."""
    return make_processor


@pytest.fixture(scope="session")
def embedded_broker(topic_names: TopicNames) -> Iterator[EmbeddedBroker]:
    """The embedded broker with every gateway topic of the default departments, 4 partitions."""
    embedded = start_gateway_broker(topic_names, DEFAULT_DEPARTMENTS, partitions=4)
    yield embedded
    embedded.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server to test on: ``GATEWAY_TEST_POSTGRES_URL`` when set, else a throwaway
    server started for the session (``make test-deps`` installs the binaries); skips, saying
    why, where neither is possible."""
    given = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"GATEWAY_TEST_POSTGRES_URL is not set, and {reason}")
    with throwaway_postgres() as server:
        yield server.url


@pytest.fixture(scope="session")
def apache_kafka() -> Iterator[BrokerUnderTest]:
    """Apache Kafka for this session (see the module docstring for how it is chosen)."""
    choice = os.environ.get("GATEWAY_TEST_BROKER", "kafka")
    if choice == "embedded":
        pytest.skip("GATEWAY_TEST_BROKER=embedded: this test needs Apache Kafka's own behaviour")
    with start_test_kafka(docker=choice == "docker") as kafka:
        yield kafka


@pytest.fixture(scope="session")
def integration_broker(request: pytest.FixtureRequest) -> BrokerUnderTest:
    """Apache Kafka, unless ``GATEWAY_TEST_BROKER=embedded`` asks for the embedded broker."""
    if os.environ.get("GATEWAY_TEST_BROKER") == "embedded":
        embedded: BrokerUnderTest = request.getfixturevalue("embedded_broker")
        return embedded
    kafka: BrokerUnderTest = request.getfixturevalue("apache_kafka")
    return kafka


@pytest.fixture(scope="session")
def broker(embedded_broker: EmbeddedBroker) -> BrokerUnderTest:
    """The broker of the tests in this folder: the embedded one, unless a folder's conftest
    overrides it (with ``integration_broker`` or ``apache_kafka``)."""
    return embedded_broker


@pytest.fixture(scope="session")
def bootstrap(broker: BrokerUnderTest) -> str:
    """Bootstrap address for clients of ``broker`` (overridden together with it)."""
    return broker.bootstrap


@pytest.fixture
def topic_factory(broker: BrokerUnderTest, request: pytest.FixtureRequest) -> TopicFactory:
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
    """``await make(*topics, **config)``: a started AIOKafkaConsumer reading committed records
    from the earliest offset (group-less unless ``group_id`` is given), as a department reads;
    stopped when the test ends."""
    consumers: list[AIOKafkaConsumer] = []

    async def make(*topics: str, **config: Any) -> AIOKafkaConsumer:
        config.setdefault("bootstrap_servers", bootstrap)
        config.setdefault("auto_offset_reset", "earliest")
        config.setdefault("isolation_level", "read_committed")
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
