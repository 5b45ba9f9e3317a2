"""Scaling out while requests flow, on Apache Kafka with transactions: members join and leave a
group of three mid-stream, and still every request is answered once, the volume cap holds
exactly, and every audit partition keeps one valid chain across the hand-overs."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from gateway.audit.verify import verify_export
from gateway.departments import DepartmentClient, answer_from_dataset, index_records
from gateway.envelope.codec import Codec
from gateway.envelope.models import (
    AuditOutcome,
    AuditRecord,
    AuditStage,
    ExchangeRequest,
    Reply,
    ReplyOutcome,
)
from gateway.errors import DecodeError
from gateway.settings import GatewaySettings
from gateway.synthetic.datasets import generate
from gateway.testing import BrokerUnderTest, gateway_runner
from gateway.transport.audit_log import export_audit
from gateway.transport.read_back import read_to_ends
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import READ_COMMITTED, TopicNames

pytestmark = pytest.mark.real_kafka

GatewayTopics = Callable[..., TopicNames]
CODEC = Codec.default()
SHIPPED = Path(__file__).resolve().parents[2] / "policies"
AGREEMENT, PURPOSE = "nhs-ho-status-check", "overseas-visitor-charging"
CAP = 7
HO_PEOPLE = generate("ho", 50)


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """The shipped policies, with NHS status checks capped at ``CAP`` an hour."""
    now = datetime.now(UTC)
    if now.minute == 59 and now.second > 0:  # one hourly window for the whole test
        time.sleep(61 - now.second)
    directory = tmp_path / "policies"
    shutil.copytree(SHIPPED, directory)
    with (directory / f"{AGREEMENT}.yaml").open("a") as agreement:
        agreement.write(f"    caps: {{per_hour: {CAP}}}\n")
    return directory


def member(
    apache_kafka: BrokerUnderTest, topics: TopicNames, policies: Path, name: str
) -> GatewayRunner:
    settings = GatewaySettings(
        bootstrap=apache_kafka.bootstrap,
        topic_prefix=topics.prefix,
        instance_id=name,
        policies_dir=policies,
        policy_reload_seconds=0,
    )
    return gateway_runner(
        apache_kafka.bootstrap, topics, settings=settings, instance=name, session_timeout_ms=6000
    )


class Group:
    """Gateway instances of one consumer group, started and stopped while traffic flows."""

    def __init__(self, make: Callable[[str], GatewayRunner]) -> None:
        self._make = make
        self.members: dict[str, tuple[GatewayRunner, asyncio.Event, asyncio.Task[None]]] = {}

    async def join(self, name: str) -> None:
        runner = self._make(name)
        stop = asyncio.Event()
        await runner.start()
        self.members[name] = (runner, stop, asyncio.create_task(runner.run(stop)))

    async def leave(self, name: str) -> None:
        runner, stop, task = self.members.pop(name)
        stop.set()
        await task
        await runner.stop()

    async def leave_all(self) -> None:
        for name in list(self.members):
            await self.leave(name)


async def committed_records(bootstrap: str, topic: str) -> list[Any]:
    """Every committed record of ``topic`` (read committed, as a department would)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level=READ_COMMITTED
    )
    await consumer.start()
    try:
        consumer.subscribe([topic])  # so that the client asks for this topic's metadata
        await consumer._client.force_metadata_update()
        consumer.unsubscribe()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        assert partitions, f"{topic} has no partitions"
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        async with asyncio.timeout(30):
            async for _, batch in read_to_ends(consumer, ends):
                records += batch
        return records
    finally:
        await consumer.stop()


async def test_members_joining_and_leaving_mid_stream_answer_once_within_the_cap(
    apache_kafka: BrokerUnderTest,
    gateway_topics: GatewayTopics,
    policies: Path,
    tmp_path: Path,
) -> None:
    bootstrap = apache_kafka.bootstrap
    topics = gateway_topics()
    group = Group(lambda name: member(apache_kafka, topics, policies, name))
    stop = asyncio.Event()
    sent: list[ExchangeRequest] = []
    replies: list[Reply | Exception] = []
    async with (
        DepartmentClient("ho", bootstrap, topics=topics) as ho,
        DepartmentClient("nhs", bootstrap, topics=topics) as nhs,
    ):
        handler = answer_from_dataset(index_records(HO_PEOPLE, "person_id"), "person_id")
        serving = asyncio.create_task(ho.serve(handler, stop=stop))

        def wave(size: int) -> list[ExchangeRequest]:
            batch = []
            for i in range(size):
                person = HO_PEOPLE[(len(sent) + i) % len(HO_PEOPLE)]
                query = {"person_id": person["person_id"]}
                purpose = PURPOSE if i % 5 == 0 else "marketing"  # a fifth are capped and wanted
                batch.append(nhs.new_request("ho", AGREEMENT, purpose, query))
            sent.extend(batch)
            return batch

        async def during(change: Awaitable[None], size: int) -> None:
            """Send a wave and change the group while it is being answered."""
            asking = asyncio.create_task(nhs.request_many(wave(size), timeout=90))
            await asyncio.sleep(0.3)
            await change
            replies.extend(await asking)

        try:
            await group.join("gw-1")
            await group.members["gw-1"][0].wait_assigned(within=60)
            await during(group.join("gw-2"), 60)
            await during(group.join("gw-3"), 60)
            await during(group.leave("gw-1"), 60)
            await during(group.leave("gw-2"), 60)
        finally:
            stop.set()
            await serving
            await group.leave_all()

    # Every request answered, and once: the client sees one reply, the topic holds one.
    assert all(isinstance(r, Reply) for r in replies), [
        r for r in replies if not isinstance(r, Reply)
    ]
    ids = {r.request_id for r in sent}
    on_topic = Counter(
        CODEC.decode(r.value, Reply).request_id
        for r in await committed_records(bootstrap, topics.replies("nhs"))
    )
    assert set(on_topic) == ids
    assert set(on_topic.values()) == {1}

    # The cap held exactly: of the capped requests, CAP approved and the rest denied for it.
    wanted = [r for r in sent if r.purpose == PURPOSE]
    by_id = {r.request_id: r for r in replies if isinstance(r, Reply)}
    answered = Counter(by_id[r.request_id].outcome for r in wanted)
    assert answered[ReplyOutcome.DENIED] == len(wanted) - CAP
    assert answered[ReplyOutcome.REDACTED] + answered[ReplyOutcome.APPROVED] == CAP

    # One decision per request in the committed audit log, and every chain intact.
    decisions: Counter[str] = Counter()
    for record in await committed_records(bootstrap, topics.audit):
        try:
            audit = CODEC.decode(record.value, AuditRecord)
        except DecodeError:
            continue  # a signed checkpoint
        if audit.stage is AuditStage.REQUEST and audit.outcome is not AuditOutcome.DUPLICATE:
            decisions[audit.request_id] += 1
    assert set(decisions) == ids
    assert set(decisions.values()) == {1}
    path = tmp_path / "audit.jsonl"
    await export_audit(bootstrap, topics, path)
    report = verify_export(path)
    assert report.ok, report.describe()


async def test_a_response_replayed_after_its_partition_moved_is_not_released_again(
    apache_kafka: BrokerUnderTest, gateway_topics: GatewayTopics
) -> None:
    """The instance that takes a responses partition over learns what its previous owner
    released there, so the same response bytes written again are refused, not answered twice."""
    bootstrap = apache_kafka.bootstrap
    topics = gateway_topics()
    group = Group(lambda name: member(apache_kafka, topics, SHIPPED, name))
    stop = asyncio.Event()
    try:
        await group.join("gw-1")
        await group.join("gw-2")
        runners = [runner for runner, _, _ in group.members.values()]
        deadline = asyncio.get_running_loop().time() + 60
        while not all(r.assigned() for r in runners):
            assert asyncio.get_running_loop().time() < deadline, "group did not settle"
            await asyncio.sleep(0.2)
        async with (
            DepartmentClient("ho", bootstrap, topics=topics) as ho,
            DepartmentClient("nhs", bootstrap, topics=topics) as nhs,
        ):
            handler = answer_from_dataset(index_records(HO_PEOPLE, "person_id"), "person_id")
            serving = asyncio.create_task(ho.serve(handler, stop=stop))
            query = {"person_id": HO_PEOPLE[0]["person_id"]}
            reply = await nhs.request("ho", AGREEMENT, PURPOSE, query, timeout=60)
            assert reply.outcome is ReplyOutcome.REDACTED
            stop.set()
            await serving

        (response,) = await committed_records(bootstrap, topics.responses("ho"))
        where = TopicPartition(response.topic, response.partition)
        (owner,) = [n for n, (r, _, _) in group.members.items() if where in r.assignment()]
        await group.leave(owner)  # the survivor takes the responses partition over
        (survivor,) = [runner for runner, _, _ in group.members.values()]
        deadline = asyncio.get_running_loop().time() + 60
        while where not in survivor.assignment():
            assert asyncio.get_running_loop().time() < deadline, "partition did not move"
            await asyncio.sleep(0.2)
        seen = survivor.stats.records_in
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                response.topic,
                response.value,
                key=response.key,
                partition=response.partition,
                headers=list(response.headers or ()),
            )
        finally:
            await producer.stop()
        deadline = asyncio.get_running_loop().time() + 60
        while survivor.stats.records_in == seen:
            assert asyncio.get_running_loop().time() < deadline, "replay not processed"
            await asyncio.sleep(0.2)
    finally:
        await group.leave_all()

    replies = [
        CODEC.decode(r.value, Reply)
        for r in await committed_records(bootstrap, topics.replies("nhs"))
    ]
    outcomes = [
        audit.outcome
        for audit in (
            _audit_record(r.value) for r in await committed_records(bootstrap, topics.audit)
        )
        if audit is not None
        and audit.request_id == reply.request_id
        and audit.stage is not AuditStage.REQUEST
    ]
    assert outcomes == [AuditOutcome.REDACTED, AuditOutcome.DUPLICATE]
    assert [r.request_id for r in replies] == [reply.request_id]


def _audit_record(value: bytes) -> AuditRecord | None:
    try:
        return CODEC.decode(value, AuditRecord)
    except DecodeError:
        return None  # a signed checkpoint
