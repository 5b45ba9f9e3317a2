"""The topic trust boundaries of docs/security.md, enforced by Apache Kafka itself: SASL/SCRAM
logins, one per department and one each for the gateway, operators and the audit indexer, and the
ACLs of :func:`gateway.transport.acls.gateway_acls` decided by KRaft's ``StandardAuthorizer``.

The probes use librdkafka (confluent-kafka), which reports each refusal with Kafka's own error
code; one test shows the same with aiokafka, the client the gateway and departments use.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError, TransactionalIdAuthorizationFailed
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from gateway.cluster import KafkaCluster
from gateway.cluster.security import ClusterSecurity
from gateway.settings import DEFAULT_DEPARTMENTS
from gateway.transport.acls import gateway_acls
from gateway.transport.topics import TopicNames

pytestmark = pytest.mark.real_kafka

DEPARTMENTS = list(DEFAULT_DEPARTMENTS)
TOPICS = TopicNames("dx")
EVERY_TOPIC = TOPICS.all_topics(DEPARTMENTS)
SECURITY = ClusterSecurity(
    {
        user: secrets.token_hex(12)
        for user in ("admin", "gateway", "operator", "auditor", *DEPARTMENTS)
    }
)
REFUSED = "refused"
_WAIT_S = 10.0


@pytest.fixture(scope="module")
def secure_kafka() -> Iterator[KafkaCluster]:
    """One node with SASL/SCRAM and the gateway's ACLs, and one record in every topic."""
    if os.environ.get("GATEWAY_TEST_BROKER", "kafka") != "kafka" or os.environ.get(
        "GATEWAY_TEST_KAFKA_BOOTSTRAP"
    ):
        pytest.skip("the ACL tests start their own Kafka node from the pinned jars")
    with KafkaCluster(1, security=SECURITY) as cluster:
        cluster.create_topics(EVERY_TOPIC, 1)
        cluster.admin.create_acls(gateway_acls(TOPICS, DEPARTMENTS))
        assert write_outcomes("gateway", EVERY_TOPIC, cluster) == dict.fromkeys(EVERY_TOPIC, "ok")
        yield cluster


def write_outcomes(
    user: str, topics: list[str], cluster: KafkaCluster, *, idempotent: bool = True
) -> dict[str, str]:
    """Per topic, ``ok`` if ``user``'s write was acknowledged, else the error. (Only producers
    of users allowed IdempotentWrite on the cluster can be idempotent.)"""
    producer = Producer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "enable.idempotence": idempotent,
            "message.timeout.ms": int(_WAIT_S * 1000),
            "log_level": 0,
            **SECURITY.librdkafka_config(user),
        }
    )
    outcomes: dict[str, str] = {}

    def delivered(error: KafkaError | None, message: object, topic: str) -> None:
        outcomes[topic] = "ok" if error is None else _name(error)

    for topic in topics:
        producer.produce(topic, b"probe", on_delivery=lambda e, m, t=topic: delivered(e, m, t))
    assert producer.flush(_WAIT_S * 2) == 0
    return outcomes


def read_outcomes(
    user: str, topics: list[str], cluster: KafkaCluster, group: str
) -> dict[str, str]:
    """Per topic, ``ok`` if ``user`` could fetch its first record, else why not: the broker
    refuses to describe the topic, or to fetch from it."""
    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "log_level": 0,
            **SECURITY.librdkafka_config(user),
        }
    )
    outcomes: dict[str, str] = {}
    try:
        for topic in topics:
            error = consumer.list_topics(topic=topic, timeout=_WAIT_S).topics[topic].error
            if error is not None:
                outcomes[topic] = _name(error)
                continue
            consumer.assign([TopicPartition(topic, 0, 0)])
            deadline = time.monotonic() + _WAIT_S
            while topic not in outcomes and time.monotonic() < deadline:
                message = consumer.poll(0.2)
                if message is not None:
                    error = message.error()
                    outcomes[topic] = "ok" if error is None else _name(error)
            consumer.unassign()
    finally:
        consumer.close()
    return outcomes


def _name(error: KafkaError) -> str:
    return REFUSED if error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED else error.name()


def allowed(outcomes: dict[str, str]) -> set[str]:
    """The topics allowed; every other must have been refused as unauthorised, nothing else."""
    assert set(outcomes.values()) <= {"ok", REFUSED}, outcomes
    return {topic for topic, outcome in outcomes.items() if outcome == "ok"}


@pytest.mark.parametrize("dept", DEPARTMENTS)
def test_a_department_may_write_only_its_own_requests_and_responses(
    secure_kafka: KafkaCluster, dept: str
) -> None:
    """Another department's requests or responses, any inbox or replies topic, the audit,
    capped and dead-letter topics all refuse the department's writes."""
    outcomes = write_outcomes(dept, EVERY_TOPIC, secure_kafka)

    assert allowed(outcomes) == {TOPICS.requests(dept), TOPICS.responses(dept)}
    assert len(outcomes) == len(EVERY_TOPIC)


@pytest.mark.parametrize("dept", DEPARTMENTS)
def test_a_department_may_read_only_its_own_inbox_and_replies(
    secure_kafka: KafkaCluster, dept: str
) -> None:
    """Not another department's traffic, not the requests and responses it wrote itself, and not
    the audit, capped or dead-letter topics."""
    outcomes = read_outcomes(dept, EVERY_TOPIC, secure_kafka, group=f"dx.{dept}.probe")

    assert allowed(outcomes) == {TOPICS.inbox(dept), TOPICS.replies(dept)}
    assert len(outcomes) == len(EVERY_TOPIC)


def test_a_department_cannot_read_in_another_departments_consumer_group(
    secure_kafka: KafkaCluster,
) -> None:
    """Groups are named for their department: NHS may not join (or move the offsets of) the
    Home Office's inbox group, even to read its own inbox."""
    consumer = Consumer(
        {
            "bootstrap.servers": secure_kafka.bootstrap,
            "group.id": "dx.ho.inbox",
            "log_level": 0,
            **SECURITY.librdkafka_config("nhs"),
        }
    )
    try:
        consumer.subscribe([TOPICS.inbox("nhs")])
        message = None
        deadline = time.monotonic() + _WAIT_S
        while message is None and time.monotonic() < deadline:
            message = consumer.poll(0.2)
    finally:
        consumer.close()

    assert message is not None and message.error() is not None
    assert message.error().code() == KafkaError.GROUP_AUTHORIZATION_FAILED


def test_the_gateway_may_read_and_write_every_exchange_topic(secure_kafka: KafkaCluster) -> None:
    assert allowed(write_outcomes("gateway", EVERY_TOPIC, secure_kafka)) == set(EVERY_TOPIC)
    reads = read_outcomes("gateway", EVERY_TOPIC, secure_kafka, group="dx-gateway")
    assert allowed(reads) == set(EVERY_TOPIC)


@pytest.mark.parametrize(
    ("user", "group", "readable"),
    [
        ("operator", "dx.operator.probe", TOPICS.deadletter),
        ("auditor", "dx-audit-indexer", TOPICS.audit),
    ],
)
def test_operators_read_only_dead_letters_and_the_audit_indexer_only_the_audit_log(
    secure_kafka: KafkaCluster, user: str, group: str, readable: str
) -> None:
    """Neither may write anywhere; each reads one topic."""
    writes = write_outcomes(user, EVERY_TOPIC, secure_kafka, idempotent=False)
    assert allowed(writes) == set()
    assert allowed(read_outcomes(user, EVERY_TOPIC, secure_kafka, group=group)) == {readable}


async def test_an_aiokafka_department_logs_in_with_scram_and_is_refused_another_departments_topic(
    secure_kafka: KafkaCluster,
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=secure_kafka.bootstrap,
        acks="all",
        enable_idempotence=True,
        **SECURITY.aiokafka_options("nhs"),
    )
    await producer.start()
    try:
        await producer.send_and_wait(TOPICS.requests("nhs"), b"allowed")
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(TOPICS.requests("ho"), b"speaking for the Home Office")
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(TOPICS.capped, b"a forged internal forward")
    finally:
        await producer.stop()


async def test_only_the_gateway_may_open_a_lanes_transactional_producer(
    secure_kafka: KafkaCluster,
) -> None:
    """A department that could start a producer under a lane's transactional id could fence the
    gateway's lane and abort its open transaction."""
    for user, allowed_to in (("gateway", True), ("nhs", False)):
        producer = AIOKafkaProducer(
            bootstrap_servers=secure_kafka.bootstrap,
            transactional_id="dx-gateway.lane-0",
            **SECURITY.aiokafka_options(user),
        )
        try:
            if allowed_to:
                await producer.start()
            else:
                with pytest.raises(TransactionalIdAuthorizationFailed):
                    await producer.start()
        finally:
            await producer.stop()
