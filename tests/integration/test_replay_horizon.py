"""A provider's response replayed after a restart is not released again, even when more replies
followed it than the gateway's de-duplication memory holds, or its reply was deleted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

from aiokafka import TopicPartition
from factories_support import ConsumerFactory, ProducerFactory

from gateway.departments import DepartmentClient, answer_from_dataset, index_records
from gateway.envelope.codec import Codec
from gateway.envelope.models import (
    AuditOutcome,
    AuditRecord,
    ProviderResponse,
    Reply,
    ReplyOutcome,
    ResponseStatus,
)
from gateway.settings import GatewaySettings
from gateway.synthetic.datasets import generate
from gateway.testing import BrokerUnderTest, fresh_topics, gateway_runner
from gateway.transport.recall import retention_covers
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

RunnerFactory = Callable[[str], GatewayRunner]

CODEC = Codec.default()
CAPACITY = 20
LATER_REPLIES = 30
HO_PEOPLE = generate("ho", 10)
QUERY = {"person_id": HO_PEOPLE[0]["person_id"], "surname": HO_PEOPLE[0]["surname"]}


async def _values(consumer_factory: ConsumerFactory, topic: str, within: float) -> list[bytes]:
    consumer = await consumer_factory(topic)
    values: list[bytes] = []
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        batch = await consumer.getmany(timeout_ms=100)
        values.extend(r.value for records in batch.values() for r in records)
    return values


async def _audit_of(
    consumer_factory: ConsumerFactory, topics: TopicNames, request_id: str, instance: str
) -> AuditRecord:
    header = CODEC.registry.get("dx.gateway.AuditRecord").header
    consumer = await consumer_factory(topics.audit)
    deadline = asyncio.get_running_loop().time() + 20
    while asyncio.get_running_loop().time() < deadline:
        batch = await consumer.getmany(timeout_ms=100)
        for record in (r for records in batch.values() for r in records):
            if record.value.startswith(header):
                audit = CODEC.decode(record.value, AuditRecord)
                if audit.request_id == request_id and audit.gateway_instance == instance:
                    return audit
    raise AssertionError(f"no audit record of {request_id} from {instance}")


async def _running(stack: AsyncExitStack, runner: GatewayRunner) -> GatewayRunner:
    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))

    async def finish() -> None:
        stop.set()
        await task
        await runner.stop()

    stack.push_async_callback(finish)
    await runner.wait_assigned(within=60)
    return runner


async def _serving(stack: AsyncExitStack, bootstrap: str, topics: TopicNames) -> None:
    ho = await stack.enter_async_context(DepartmentClient("ho", bootstrap, topics=topics))
    stop = asyncio.Event()
    handler = answer_from_dataset(index_records(HO_PEOPLE, "person_id"), "person_id")
    group = f"{topics.prefix}.ho.{uuid.uuid4().hex[:6]}"
    task = asyncio.create_task(ho.serve(handler, group_id=group, stop=stop))

    async def finish() -> None:
        stop.set()
        await task

    stack.push_async_callback(finish)


async def _answered_once(
    bootstrap: str, topics: TopicNames, make_runner: RunnerFactory, later_replies: int
) -> str:
    """One answered request, then ``later_replies`` denials; the gateway stops afterwards.
    Returns the answered request's id."""
    async with AsyncExitStack() as stack:
        await _running(stack, make_runner("before-restart"))
        await _serving(stack, bootstrap, topics)
        nhs = await stack.enter_async_context(DepartmentClient("nhs", bootstrap, topics=topics))
        reply = await nhs.request(
            "ho", "nhs-ho-status-check", "overseas-visitor-charging", QUERY, timeout=30
        )
        assert reply.status is ResponseStatus.FOUND
        later = [
            nhs.new_request("ho", "nhs-ho-status-check", "marketing", QUERY)
            for _ in range(later_replies)
        ]
        results = await nhs.request_many(later, timeout=30)
        assert all(isinstance(r, Reply) and r.outcome is ReplyOutcome.DENIED for r in results)
    return reply.request_id


async def _replay_is_refused(
    bootstrap: str,
    topics: TopicNames,
    request_id: str,
    make_runner: RunnerFactory,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    """Restart the gateway, replay the provider's response to ``request_id``: it is blocked as
    unprovable, the requester gets no second reply, and new exchanges are still answered."""
    responses = await _values(consumer_factory, topics.responses("ho"), within=1.0)
    (original,) = [
        v for v in responses if CODEC.decode(v, ProviderResponse).request_id == request_id
    ]
    replied_before = await _replies_to(consumer_factory, topics, request_id)
    async with AsyncExitStack() as stack:
        await _running(stack, make_runner("after-restart"))
        producer = await producer_factory()
        await producer.send_and_wait(topics.responses("ho"), original, key=request_id.encode())

        audit = await _audit_of(consumer_factory, topics, request_id, "after-restart")
        assert audit.outcome is AuditOutcome.BLOCKED
        assert [r.code for r in audit.reasons] == ["exchange.before_replay_horizon"]

        await _serving(stack, bootstrap, topics)  # the restarted gateway still answers anew
        nhs = await stack.enter_async_context(DepartmentClient("nhs", bootstrap, topics=topics))
        fresh = await nhs.request(
            "ho", "nhs-ho-status-check", "overseas-visitor-charging", QUERY, timeout=30
        )
        assert fresh.status is ResponseStatus.FOUND
    assert await _replies_to(consumer_factory, topics, request_id) == replied_before


async def _replies_to(
    consumer_factory: ConsumerFactory, topics: TopicNames, request_id: str
) -> int:
    """How many replies to ``request_id`` the requester's topic holds."""
    replies = await _values(consumer_factory, topics.replies("nhs"), within=0.5)
    return [CODEC.decode(v, Reply).request_id for v in replies].count(request_id)


async def replayed_after_restart(
    bootstrap: str,
    topics: TopicNames,
    make_runner: RunnerFactory,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    """The scenario, on whatever broker the fixtures name: answer one request, then more
    replies than the gateway's memory holds, restart the gateway, replay the first response."""
    request_id = await _answered_once(bootstrap, topics, make_runner, LATER_REPLIES)
    assert await _replies_to(consumer_factory, topics, request_id) == 1
    await _replay_is_refused(
        bootstrap, topics, request_id, make_runner, producer_factory, consumer_factory
    )


async def test_a_response_replayed_after_a_restart_past_the_memorys_capacity_is_refused(
    broker: BrokerUnderTest,
    bootstrap: str,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    topics = fresh_topics(broker, partitions=1)

    def make_runner(instance: str) -> GatewayRunner:
        settings = GatewaySettings(
            bootstrap=bootstrap,
            topic_prefix=topics.prefix,
            instance_id=instance,
            dedupe_capacity=CAPACITY,
        )
        return gateway_runner(bootstrap, topics, settings=settings)

    await replayed_after_restart(bootstrap, topics, make_runner, producer_factory, consumer_factory)


async def test_a_response_replayed_after_its_reply_was_deleted_by_retention_is_refused(
    broker: BrokerUnderTest,
    bootstrap: str,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    """The memory is large enough, but the replies topic no longer holds the first reply."""
    topics = fresh_topics(broker, partitions=1)

    def make_runner(instance: str) -> GatewayRunner:
        settings = GatewaySettings(
            bootstrap=bootstrap, topic_prefix=topics.prefix, instance_id=instance
        )
        return gateway_runner(bootstrap, topics, settings=settings)

    request_id = await _answered_once(bootstrap, topics, make_runner, later_replies=0)
    broker.limit_retention(topics.replies("nhs"), 1024 * 1024)
    await _push_out_of_retention(producer_factory, consumer_factory, topics.replies("nhs"))
    assert await _replies_to(consumer_factory, topics, request_id) == 0  # deleted

    await _replay_is_refused(
        bootstrap, topics, request_id, make_runner, producer_factory, consumer_factory
    )


async def _push_out_of_retention(
    producer_factory: ProducerFactory, consumer_factory: ConsumerFactory, topic: str
) -> None:
    """Write replies to ``topic`` until the broker has deleted its first record."""
    producer = await producer_factory(linger_ms=20)
    consumer = await consumer_factory()
    tp = TopicPartition(topic, 0)
    filler = Reply(
        request_id="filler",
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-status-check",
        purpose="marketing",
        outcome=ReplyOutcome.DENIED,
        policy_version="filler" * 40,
        replied_at=datetime.now(UTC),
    )
    value = CODEC.encode(filler)
    deadline = asyncio.get_running_loop().time() + 60
    while (await consumer.beginning_offsets([tp]))[tp] == 0:
        assert asyncio.get_running_loop().time() < deadline, "retention deleted nothing"
        sent = [await producer.send(topic, value, partition=0) for _ in range(2000)]
        await asyncio.gather(*sent)
        await asyncio.sleep(0.5)


async def test_retention_is_taken_to_cover_a_token_lifetime_only_when_configured_to(
    apache_kafka: BrokerUnderTest,
) -> None:
    """Kafka's default retention (7 days, no size limit) keeps replies past a day's tokens; a
    size limit does not."""
    topics = fresh_topics(apache_kafka, partitions=1, departments=("nhs",))
    limited, unlimited = topics.replies("nhs"), topics.inbox("nhs")
    apache_kafka.limit_retention(limited, 4 * 1024 * 1024)

    window = timedelta(days=1, minutes=1)

    deadline = asyncio.get_running_loop().time() + 10  # a config change takes a moment to show
    covered = await retention_covers(apache_kafka.bootstrap, {limited, unlimited}, window)
    while covered != {unlimited} and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        covered = await retention_covers(apache_kafka.bootstrap, {limited, unlimited}, window)

    assert covered == {unlimited}
