"""The audit indexer against a running gateway on the embedded broker: one row per audited
decision, however often the topic is read, and a person's exchange found by their identifier."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import pytest
from factories_support import ConsumerFactory

from gateway.audit_store import DecisionQuery, open_store
from gateway.departments import DepartmentClient, answer_from_dataset, index_records
from gateway.embedded.broker import EmbeddedBroker
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditRecord, ReplyOutcome
from gateway.settings import GatewaySettings
from gateway.synthetic.datasets import generate
from gateway.testing import fresh_topics, gateway_runner
from gateway.transport.audit_indexer import index_audit_topic
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

CODEC = Codec.default()
PEOPLE = generate("ho", 10)
HO = index_records(PEOPLE, "person_id")
ASKED = 4


@pytest.fixture(scope="module")
async def topics(broker: EmbeddedBroker) -> TopicNames:
    return fresh_topics(broker)


@pytest.fixture(scope="module")
async def gateway(
    bootstrap: str, topics: TopicNames, subject_secret: str
) -> AsyncIterator[GatewayRunner]:
    settings = GatewaySettings(
        bootstrap=bootstrap,
        topic_prefix=topics.prefix,
        instance_id="gateway-indexed",
        subject_key_secret=subject_secret,
    )
    runner = gateway_runner(bootstrap, topics, settings=settings)
    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))
    await runner.wait_assigned()
    yield runner
    stop.set()
    await task
    await runner.stop()


@pytest.fixture(scope="module")
async def traffic(bootstrap: str, topics: TopicNames, gateway: GatewayRunner) -> int:
    """Status checks for ``ASKED`` people (answered by the Home Office) and one refused
    request; returns how many decisions the gateway audited for them."""
    async with AsyncExitStack() as stack:
        nhs = await stack.enter_async_context(DepartmentClient("nhs", bootstrap, topics=topics))
        ho = await stack.enter_async_context(DepartmentClient("ho", bootstrap, topics=topics))
        stop = asyncio.Event()
        group = f"{topics.prefix}.ho.{uuid.uuid4().hex[:6]}"
        serving = asyncio.create_task(
            ho.serve(answer_from_dataset(HO, "person_id"), group_id=group, stop=stop)
        )
        try:
            replies = [
                await nhs.request(
                    "ho",
                    "nhs-ho-status-check",
                    purpose,
                    {"person_id": person["person_id"], "surname": person["surname"]},
                )
                for person, purpose in [
                    *((p, "overseas-visitor-charging") for p in PEOPLE[:ASKED]),
                    (PEOPLE[ASKED], "debt-collection"),
                ]
            ]
        finally:
            stop.set()
            await serving
    assert [r.outcome for r in replies][-1] is ReplyOutcome.DENIED
    return 2 * ASKED + 1  # a request and a response record per answer, one per refusal


async def audited(consumer_factory: ConsumerFactory, topic: str, count: int) -> list[AuditRecord]:
    """The audit records on ``topic`` (checkpoints left out), once there are ``count``."""
    header = CODEC.registry.get("dx.gateway.AuditRecord").header
    consumer = await consumer_factory(topic)
    records: list[AuditRecord] = []
    deadline = asyncio.get_running_loop().time() + 15
    while len(records) < count and asyncio.get_running_loop().time() < deadline:
        batch = await consumer.getmany(timeout_ms=100)
        for messages in batch.values():
            records += [
                CODEC.decode(m.value, AuditRecord) for m in messages if m.value.startswith(header)
            ]
    return records


async def test_indexing_stores_one_row_per_audited_decision_even_when_read_twice(
    bootstrap: str,
    topics: TopicNames,
    traffic: int,
    consumer_factory: ConsumerFactory,
    store_url: str,
    subject_key: Callable[[str, str], str],
) -> None:
    on_topic = await audited(consumer_factory, topics.audit, traffic)
    store = open_store(store_url)

    first = await index_audit_topic(store, bootstrap=bootstrap, topics=topics, once=True)
    again = await index_audit_topic(  # as the command runs it, records read in a second process
        store,
        bootstrap=bootstrap,
        topics=topics,
        once=True,
        from_beginning=True,
        decoder_process=True,
    )
    resumed = await index_audit_topic(store, bootstrap=bootstrap, topics=topics, once=True)

    stored = store.decisions(DecisionQuery())
    assert len(on_topic) == traffic
    assert sorted(i.record.decision_id for i in stored) == sorted(r.decision_id for r in on_topic)
    assert (first.indexed, first.chain_breaks, first.undecodable) == (traffic, 0, 0)
    assert (again.indexed, again.repeated, again.chain_breaks) == (0, traffic, 0)
    assert resumed.messages == 0  # the store knows where it stands
    person = subject_key("person_id", PEOPLE[0]["person_id"])
    about = store.decisions(DecisionQuery(subject_key=person))
    assert [i.record.stage.value for i in about] == ["RESPONSE", "REQUEST"]
    store.close()
