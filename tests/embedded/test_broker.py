"""The embedded broker speaks Kafka to aiokafka, creates topics as asked, injects faults, and runs
as ``gateway broker``."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NodeNotReadyError,
    NotLeaderForPartitionError,
    UnknownTopicOrPartitionError,
)
from factories_support import ConsumerFactory, ProducerFactory

from gateway.embedded.broker import (
    EMBEDDED_BROKER_LIMITS,
    ApiKey,
    EmbeddedBroker,
    wait_until_ready,
)
from gateway.errors import BrokerError, TransportError
from gateway.settings import DEFAULT_DEPARTMENTS
from gateway.transport.topics import TopicNames

TopicFactory = Callable[..., str]

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI_START_TIMEOUT_S = 30.0


@pytest.fixture
def private_broker() -> Iterator[EmbeddedBroker]:
    """A broker of its own, for tests that inject faults or change its state."""
    with EmbeddedBroker(partitions=1) as embedded:
        embedded.create_topics(["faults"])
        yield embedded


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _partitions(producer: AIOKafkaProducer, topic: str) -> set[int]:
    metadata = await producer.client.fetch_all_metadata()
    return set(metadata.partitions_for_topic(topic) or ())


async def _round_trip(
    producer: AIOKafkaProducer, consumer_factory: ConsumerFactory, topic: str
) -> None:
    sent = await producer.send_and_wait(topic, b"value", key=b"key", headers=[("h", b"1")])
    consumer = await consumer_factory()
    tp = TopicPartition(topic, sent.partition)
    consumer.assign([tp])
    record = await asyncio.wait_for(consumer.getone(), 10)
    assert (record.key, record.value, list(record.headers)) == (b"key", b"value", [("h", b"1")])
    assert record.offset == sent.offset


# --- the broker in this process --------------------------------------------------------------


async def test_a_record_produced_with_key_and_headers_is_consumed_unchanged(
    topic_factory: TopicFactory,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    producer = await producer_factory()
    await _round_trip(producer, consumer_factory, topic_factory())


async def test_every_gateway_topic_exists_with_the_requested_partition_count(
    producer_factory: ProducerFactory, topic_factory: TopicFactory
) -> None:
    producer = await producer_factory()
    for topic in TopicNames().all_topics(list(DEFAULT_DEPARTMENTS)):
        assert await _partitions(producer, topic) == {0, 1, 2, 3}, topic
    assert await _partitions(producer, topic_factory(partitions=3)) == {0, 1, 2}


async def test_a_consumer_group_resumes_from_its_committed_offset(
    topic_factory: TopicFactory,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    topic = topic_factory()
    producer = await producer_factory()
    for value in (b"a", b"b", b"c"):
        await producer.send_and_wait(topic, value)
    group = f"group-{topic}"

    first = await consumer_factory(topic, group_id=group, enable_auto_commit=False)
    assert [(await first.getone()).value for _ in range(2)] == [b"a", b"b"]
    await first.commit()
    await first.stop()

    second = await consumer_factory(topic, group_id=group, enable_auto_commit=False)
    assert await second.committed(TopicPartition(topic, 0)) == 2
    assert (await asyncio.wait_for(second.getone(), 10)).value == b"c"


async def test_a_second_member_of_a_group_is_refused_as_the_documented_limit_says(
    private_broker: EmbeddedBroker, consumer_factory: ConsumerFactory
) -> None:
    """Pins a limit of the mock cluster: it completes a group's sync on the leader's request and
    answers the follower's with INVALID_REQUEST. When a librdkafka upgrade fixes this, this test
    fails: then drop the limit from EMBEDDED_BROKER_LIMITS."""
    config = {"group_id": "pair", "bootstrap_servers": private_broker.bootstrap}
    starts = [consumer_factory("faults", **config) for _ in range(2)]
    results = await asyncio.gather(*starts, return_exceptions=True)
    refused = [r for r in results if isinstance(r, KafkaError)]
    assert len(refused) == 1 and "InvalidRequestError" in str(refused[0])
    assert any("one aiokafka member per consumer group" in x for x in EMBEDDED_BROKER_LIMITS)


def test_creating_topics_again_is_harmless_and_bad_names_are_refused() -> None:
    with EmbeddedBroker(partitions=2) as embedded:
        assert embedded.create_topics(["a", "b"]) == ["a", "b"]
        assert embedded.create_topics(["b", "c"], partitions=1) == ["c"]
        assert embedded.topics == {"a": 2, "b": 2, "c": 1}
        with pytest.raises(BrokerError, match="invalid topic name"):
            embedded.create_topics(["no spaces"])
    with pytest.raises(BrokerError, match="not running"):
        _ = embedded.bootstrap


async def test_an_injected_produce_error_surfaces_in_aiokafka_then_clears(
    private_broker: EmbeddedBroker, producer_factory: ProducerFactory
) -> None:
    producer = await producer_factory(bootstrap_servers=private_broker.bootstrap)
    private_broker.fail_requests(ApiKey.PRODUCE, [MessageSizeTooLargeError.errno])
    with pytest.raises(MessageSizeTooLargeError):
        await producer.send_and_wait("faults", b"rejected")
    assert (await producer.send_and_wait("faults", b"accepted")).offset == 0


async def test_injected_retriable_errors_are_retried_by_the_producer(
    private_broker: EmbeddedBroker, producer_factory: ProducerFactory
) -> None:
    producer = await producer_factory(bootstrap_servers=private_broker.bootstrap)
    private_broker.fail_requests(ApiKey.PRODUCE, [NotLeaderForPartitionError.errno] * 2)
    assert (await producer.send_and_wait("faults", b"eventually")).offset == 0


async def test_a_topic_error_makes_the_topic_unusable_until_it_is_cleared(
    private_broker: EmbeddedBroker, producer_factory: ProducerFactory
) -> None:
    producer = await producer_factory(
        bootstrap_servers=private_broker.bootstrap, request_timeout_ms=500
    )
    private_broker.set_topic_error("faults", UnknownTopicOrPartitionError.errno)
    with pytest.raises(UnknownTopicOrPartitionError):
        await producer.send_and_wait("faults", b"refused")
    private_broker.set_topic_error("faults", 0)
    assert (await producer.send_and_wait("faults", b"accepted")).offset == 0


async def test_a_broker_taken_down_times_sends_out_until_it_is_up_again(
    private_broker: EmbeddedBroker, producer_factory: ProducerFactory
) -> None:
    producer = await producer_factory(
        bootstrap_servers=private_broker.bootstrap, request_timeout_ms=1000
    )
    await producer.send_and_wait("faults", b"before")  # the producer now knows the partitions
    private_broker.set_broker_down()
    with pytest.raises((KafkaTimeoutError, NodeNotReadyError)):  # which one depends on timing
        await producer.send_and_wait("faults", b"lost")
    private_broker.set_broker_up()
    assert (await producer.send_and_wait("faults", b"delivered")).topic == "faults"


async def test_a_fixed_port_serves_every_connection_through_the_forwarder(
    producer_factory: ProducerFactory, consumer_factory: ConsumerFactory
) -> None:
    with EmbeddedBroker(port=0) as embedded:
        embedded.create_topics(["forwarded"])
        port = int(embedded.bootstrap.rpartition(":")[2])
        producer = await producer_factory(bootstrap_servers=embedded.bootstrap)
        await _round_trip(
            producer,
            lambda: consumer_factory(bootstrap_servers=embedded.bootstrap),
            "forwarded",
        )
        assert {b.port for b in producer.client.cluster.brokers()} == {port}
        await producer.stop()


def test_a_port_in_use_is_refused_with_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BrokerError, match=f"port {port} on 127.0.0.1 is already in use"):
            EmbeddedBroker(port=port).start()


async def test_waiting_for_a_broker_that_is_not_there_fails_with_a_transport_error() -> None:
    with pytest.raises(TransportError, match=r"not ready after 0\.3s: connection refused"):
        await wait_until_ready(f"127.0.0.1:{_free_port()}", 0.3)


# --- gateway broker, as a process ------------------------------------------------------------


@asynccontextmanager
async def _gateway_broker(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(  # -m finds the package from cwd
        sys.executable,
        "-m",
        "gateway",
        "broker",
        *args,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.communicate()


async def _bootstrap_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), CLI_START_TIMEOUT_S)).decode()
    assert line.startswith("bootstrap="), line
    return line.strip().removeprefix("bootstrap=")


async def _terminate(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_gateway_broker_prints_its_address_first_serves_and_stops_on_sigterm(
    producer_factory: ProducerFactory,
) -> None:
    async with _gateway_broker("--partitions", "2", "--departments", "ho,dfe") as process:
        address = await _bootstrap_line(process)
        await wait_until_ready(address, 10, topics=["dx.requests.ho", "dx.audit"])
        producer = await producer_factory(bootstrap_servers=address)
        assert await _partitions(producer, "dx.requests.ho") == {0, 1}
        await producer.send_and_wait("dx.requests.ho", b"hello")
        await producer.stop()
        returncode, stderr = await _terminate(process)
    assert returncode == 0, stderr
    assert "11 topics, 2 partitions each" in stderr
    assert "in memory" in stderr


async def test_gateway_broker_on_a_fixed_port_works_end_to_end(
    producer_factory: ProducerFactory, consumer_factory: ConsumerFactory
) -> None:
    port = _free_port()
    async with _gateway_broker("--port", str(port), "--partitions", "1") as process:
        address = await _bootstrap_line(process)
        assert address == f"127.0.0.1:{port}"
        producer = await producer_factory(bootstrap_servers=address)
        await _round_trip(
            producer,
            lambda: consumer_factory(bootstrap_servers=address),
            "dx.inbox.nhs",
        )
        assert {b.port for b in producer.client.cluster.brokers()} == {port}
        await producer.stop()
        returncode, _ = await _terminate(process)
    assert returncode == 0


async def test_gateway_broker_on_a_port_in_use_exits_non_zero_with_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with _gateway_broker("--port", str(port)) as process:
            stdout, stderr = await asyncio.wait_for(process.communicate(), CLI_START_TIMEOUT_S)
    assert process.returncode not in (0, None)
    assert stdout == b""
    assert f"port {port} on 127.0.0.1 is already in use" in stderr.decode()
