"""Volume caps hold exactly across gateway instances: every request of one cap key is decided by
the one instance that owns its partition of the capped topic.

Static shards stand in for several instances (the embedded broker's groups hold one member)."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from factories_support import ConsumerFactory, ProducerFactory

from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage, ExchangeRequest
from gateway.errors import DecodeError
from gateway.settings import GatewaySettings
from gateway.testing import BrokerUnderTest, fresh_topics, gateway_runner
from gateway.transport.read_back import read_to_ends
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames
from gateway.transport.volume_restore import cap_partition

pytestmark = pytest.mark.kafka


CODEC = Codec.default()
SHIPPED = Path(__file__).resolve().parents[2] / "policies"
AGREEMENT, PURPOSE = "nhs-ho-status-check", "overseas-visitor-charging"
CAP = 3
PARTITIONS = 4
OWNER = cap_partition((AGREEMENT, PURPOSE, "nhs"), PARTITIONS) % 2
"""The shard that owns the capped partition of the NHS's cap key."""


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """The shipped policies, with NHS status checks capped at ``CAP`` an hour."""
    directory = tmp_path / "policies"
    shutil.copytree(SHIPPED, directory)
    with (directory / f"{AGREEMENT}.yaml").open("a") as agreement:
        agreement.write(f"    caps: {{per_hour: {CAP}}}\n")
    return directory


@pytest.fixture
def topics(broker: BrokerUnderTest) -> Iterator[TopicNames]:
    _clear_of_the_hour_boundary()  # the hourly count restarts on the hour
    yield fresh_topics(broker, PARTITIONS)


@asynccontextmanager
async def shard(
    bootstrap: str, topics: TopicNames, policies: Path, index: int, instance: str
) -> AsyncIterator[GatewayRunner]:
    settings = GatewaySettings(
        bootstrap=bootstrap,
        topic_prefix=topics.prefix,
        instance_id=instance,
        policies_dir=policies,
        policy_reload_seconds=0,
    )
    runner = gateway_runner(bootstrap, topics, settings=settings, shard=(index, 2))
    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield runner
    finally:
        stop.set()
        await task
        await runner.stop()


@asynccontextmanager
async def two_shards(
    bootstrap: str, topics: TopicNames, policies: Path
) -> AsyncIterator[list[GatewayRunner]]:
    async with (
        shard(bootstrap, topics, policies, 0, "gw-0") as first,
        shard(bootstrap, topics, policies, 1, "gw-1") as second,
    ):
        yield [first, second]


def request(
    requester: str = "nhs", *, agreement: str = AGREEMENT, purpose: str = PURPOSE
) -> ExchangeRequest:
    return ExchangeRequest(
        request_id=f"cap-{uuid.uuid4().hex[:12]}",
        requester=requester,
        provider="ho",
        agreement_id=agreement,
        purpose=purpose,
        query={"person_id": "HO-000001", "date_of_birth": "1990-01-02"},
        sent_at=datetime.now(UTC),
    )


async def send(
    producer: AIOKafkaProducer, topics: TopicNames, sender: str, requests: list[ExchangeRequest]
) -> list[tuple[int, int]]:
    """Publish on ``sender``'s requests topic; returns each request's (partition, offset)."""
    coordinates = []
    for r in requests:
        meta = await producer.send_and_wait(
            topics.requests(sender), CODEC.encode(r), key=r.request_id.encode()
        )
        coordinates.append((meta.partition, meta.offset))
    return coordinates


async def decisions(
    consumer_factory: ConsumerFactory, topics: TopicNames, ids: set[str], within: float = 20.0
) -> dict[str, AuditRecord]:
    """The request-stage audit record of each of ``ids``, once all are there."""
    consumer = await consumer_factory(topics.audit)
    found: dict[str, AuditRecord] = {}
    async with asyncio.timeout(within):
        while not ids <= found.keys():
            batch = await consumer.getmany(timeout_ms=100)
            for record in (r for rs in batch.values() for r in rs):
                try:
                    audit = CODEC.decode(record.value, AuditRecord)
                except DecodeError:
                    continue  # a signed checkpoint
                if audit.stage is AuditStage.REQUEST and audit.request_id in ids:
                    found[audit.request_id] = audit
    return found


async def capped_keys(consumer_factory: ConsumerFactory, topics: TopicNames) -> list[bytes]:
    """The keys of everything forwarded to the capped topic so far."""
    consumer = await consumer_factory()
    partitions = [TopicPartition(topics.capped, p) for p in range(PARTITIONS)]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    ends = await consumer.end_offsets(partitions)
    keys: list[bytes] = []
    async for _, records in read_to_ends(consumer, ends):  # markers take offsets too
        keys += [r.key for r in records]
    return keys


def _clear_of_the_hour_boundary(margin_s: int = 30) -> None:
    """Wait out the last seconds of a clock hour, so a test's requests share one hourly window."""
    now = datetime.now(UTC)
    left = 3600 - (now.minute * 60 + now.second)
    if left < margin_s:
        time.sleep(left + 1)


def _outcomes(found: dict[str, AuditRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in found.values():
        name = record.outcome.value
        if record.outcome is AuditOutcome.DENIED:
            name += ":" + ",".join(r.code for r in record.reasons)
        counts[name] = counts.get(name, 0) + 1
    return counts


async def test_two_shards_together_approve_exactly_the_cap(
    bootstrap: str,
    topics: TopicNames,
    policies: Path,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    requests = [request() for _ in range(12)]
    async with two_shards(bootstrap, topics, policies):
        arrived = await send(await producer_factory(), topics, "nhs", requests)
        found = await decisions(consumer_factory, topics, {r.request_id for r in requests})

    assert {p % 2 for p, _ in arrived} == {0, 1}  # both shards received some of them
    assert _outcomes(found) == {"APPROVED": CAP, "DENIED:cap.hourly": len(requests) - CAP}
    assert {r.gateway_instance for r in found.values()} == {f"gw-{OWNER}"}


async def test_a_restarted_owner_keeps_the_count(
    bootstrap: str,
    topics: TopicNames,
    policies: Path,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    producer = await producer_factory()
    first, second = [request() for _ in range(CAP - 1)], [request() for _ in range(3)]
    other = 1 - OWNER
    async with shard(bootstrap, topics, policies, other, f"gw-{other}"):
        async with shard(bootstrap, topics, policies, OWNER, "owner"):
            await send(producer, topics, "nhs", first)
            await decisions(consumer_factory, topics, {r.request_id for r in first})
        async with shard(bootstrap, topics, policies, OWNER, "owner-restarted"):
            await send(producer, topics, "nhs", second)
            found = await decisions(consumer_factory, topics, {r.request_id for r in second})

    assert _outcomes(found) == {"APPROVED": 1, "DENIED:cap.hourly": 2}
    assert {r.gateway_instance for r in found.values()} == {"owner-restarted"}


async def test_uncapped_requests_are_decided_where_they_arrive(
    bootstrap: str,
    topics: TopicNames,
    policies: Path,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    requests = [
        request("rtw", agreement="rtw-ho-status-check", purpose="right-to-work") for _ in range(8)
    ]
    async with two_shards(bootstrap, topics, policies):
        await send(await producer_factory(), topics, "rtw", requests)
        found = await decisions(consumer_factory, topics, {r.request_id for r in requests})

    assert _outcomes(found) == {"APPROVED": len(requests)}
    assert all(r.gateway_instance == f"gw-{r.input_partition % 2}" for r in found.values())
    assert await capped_keys(consumer_factory, topics) == []


async def test_a_forwarded_request_is_audited_with_its_original_input_coordinates(
    bootstrap: str,
    topics: TopicNames,
    policies: Path,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    requests = [request() for _ in range(4)]
    async with two_shards(bootstrap, topics, policies):
        arrived = await send(await producer_factory(), topics, "nhs", requests)
        found = await decisions(consumer_factory, topics, {r.request_id for r in requests})

    for r, (partition, offset) in zip(requests, arrived, strict=True):
        record = found[r.request_id]
        assert (record.input_topic, record.input_partition, record.input_offset) == (
            topics.requests("nhs"),
            partition,
            offset,
        )
    assert await capped_keys(consumer_factory, topics) == [
        f"{AGREEMENT}|{PURPOSE}|nhs".encode()
    ] * len(requests)


async def test_a_forwarded_request_claiming_another_requester_is_still_identity_checked(
    bootstrap: str,
    topics: TopicNames,
    policies: Path,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    spoofed = request("nhs")  # sent by DfE, claiming to be the NHS
    async with two_shards(bootstrap, topics, policies):
        await send(await producer_factory(), topics, "dfe", [spoofed])
        found = await decisions(consumer_factory, topics, {spoofed.request_id})

    record = found[spoofed.request_id]
    assert record.outcome is AuditOutcome.DENIED
    assert "identity.requester_mismatch" in [r.code for r in record.reasons]
    assert record.input_topic == topics.requests("dfe")
    assert await capped_keys(consumer_factory, topics) == [f"{AGREEMENT}|{PURPOSE}|dfe".encode()]


async def test_a_group_member_restores_the_count_when_the_capped_partitions_are_assigned(
    bootstrap: str,
    topics: TopicNames,
    policies: Path,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    settings = GatewaySettings(
        bootstrap=bootstrap, topic_prefix=topics.prefix, policies_dir=policies
    )
    producer = await producer_factory()
    found: dict[str, AuditRecord] = {}
    for batch in ([request() for _ in range(CAP - 1)], [request() for _ in range(2)]):
        runner = gateway_runner(bootstrap, topics, settings=settings)
        stop = asyncio.Event()
        await runner.start()
        task = asyncio.create_task(runner.run(stop))
        try:
            await runner.wait_assigned()
            await send(producer, topics, "nhs", batch)
            found |= await decisions(consumer_factory, topics, {r.request_id for r in batch})
        finally:
            stop.set()
            await task
            await runner.stop()

    assert _outcomes(found) == {"APPROVED": CAP, "DENIED:cap.hourly": 1}
