"""The tamper-evident audit log on a Kafka-protocol broker: one hash chain per audit partition,
continued across restarts and shards, exported and verified. (Group rebalances between two
instances need real Kafka: see ``tests/real_kafka/test_real_kafka_audit.py``.)"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from factories_support import ConsumerFactory, ProducerFactory

from gateway.audit.chain import is_checkpoint, read_link
from gateway.audit.files import ExportedMessage, read_export
from gateway.audit.verify import VerifyReport, verify_export
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditOutcome, AuditRecord, ExchangeRequest
from gateway.settings import GatewaySettings
from gateway.testing import BrokerUnderTest, fresh_topics, gateway_runner, until
from gateway.transport.audit_log import export_audit, read_audit_log
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

CODEC = Codec.default()


def request(request_id: str) -> bytes:
    return CODEC.encode(
        ExchangeRequest(
            request_id=request_id,
            requester="nhs",
            provider="ho",
            agreement_id="nhs-ho-status-check",
            purpose="overseas-visitor-charging",
            query={"person_id": "HO-000042", "surname": "Okafor"},
            sent_at=datetime.now(UTC),
        )
    )


async def send_requests(producer: AIOKafkaProducer, topics: TopicNames, count: int) -> None:
    """``count`` approvable requests, keyed so they spread over every partition."""
    for _ in range(count):
        request_id = uuid.uuid4().hex
        await producer.send(topics.requests("nhs"), request(request_id), key=request_id.encode())
    await producer.flush()


@contextlib.asynccontextmanager
async def running(runner: GatewayRunner) -> AsyncIterator[GatewayRunner]:
    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))
    try:
        await runner.wait_assigned()
        yield runner
    finally:
        stop.set()
        await task
        await runner.stop()


async def exported(bootstrap: str, topics: TopicNames, path: Path) -> list[ExportedMessage]:
    await export_audit(bootstrap, topics, path, checkpoints_path=path.with_suffix(".cp.json"))
    _, messages = read_export(path)
    return list(messages)


def verified(path: Path) -> VerifyReport:
    report = verify_export(path, checkpoint=path.with_suffix(".cp.json"))
    assert report.ok, report.describe()
    return report


def records(messages: Iterable[ExportedMessage]) -> list[tuple[int, AuditRecord]]:
    return [
        (m.partition, CODEC.decode(m.value, AuditRecord))
        for m in messages
        if not is_checkpoint(CODEC, m.value)
    ]


def assert_one_chain_per_partition(messages: list[ExportedMessage]) -> None:
    """Consecutive sequences from 0 and no predecessor claimed twice, in every partition."""
    by_partition: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for m in messages:
        by_partition[m.partition].append(read_link(m.value))
    for links in by_partition.values():
        assert [sequence for _, sequence in links] == list(range(len(links)))
        assert len({prev for prev, _ in links}) == len(links)


async def test_a_gateways_audit_log_exports_and_verifies_with_every_chain_signed_at_shutdown(
    broker: BrokerUnderTest, bootstrap: str, producer_factory: ProducerFactory, tmp_path: Path
) -> None:
    topics = fresh_topics(broker, partitions=4)
    producer = await producer_factory()
    async with running(gateway_runner(bootstrap, topics)) as runner:
        await send_requests(producer, topics, 40)
        await until(lambda: runner.stats.records_in == 40)

    messages = await exported(bootstrap, topics, tmp_path / "audit.jsonl")

    report = verified(tmp_path / "audit.jsonl")
    assert len(records(messages)) == 40
    assert {p for p, _ in records(messages)} == {0, 1, 2, 3}
    assert all(p.unsigned == 0 and p.checkpoints >= 1 for p in report.partitions)
    assert_one_chain_per_partition(messages)


async def test_audit_partitions_without_traffic_verify_intact_by_their_genesis_checkpoints(
    broker: BrokerUnderTest, bootstrap: str, producer_factory: ProducerFactory, tmp_path: Path
) -> None:
    """A gateway starting on empty audit partitions signs each one's genesis, so partitions
    that see no traffic are not reported as deleted, while it runs and after it stops."""
    topics = fresh_topics(broker, partitions=4)
    producer = await producer_factory()
    async with running(gateway_runner(bootstrap, topics)) as runner:
        await producer.send_and_wait(
            topics.requests("nhs"), request(uuid.uuid4().hex), key=b"k", partition=1
        )
        await until(lambda: runner.stats.records_in == 1)
        await exported(bootstrap, topics, tmp_path / "running.jsonl")
        verified(tmp_path / "running.jsonl")

    messages = await exported(bootstrap, topics, tmp_path / "audit.jsonl")

    report = verified(tmp_path / "audit.jsonl")
    assert {p for p, _ in records(messages)} == {1}
    genesis = [m for m in messages if read_link(m.value)[1] == 0]
    assert {m.partition for m in genesis if is_checkpoint(CODEC, m.value)} >= {0, 2, 3}
    assert [p.messages for p in report.partitions if p.partition != 1] == [1, 1, 1]


async def test_a_restarted_gateway_continues_each_partitions_chain(
    broker: BrokerUnderTest, bootstrap: str, producer_factory: ProducerFactory, tmp_path: Path
) -> None:
    topics = fresh_topics(broker, partitions=4)
    producer = await producer_factory()
    for instance in ("before-restart", "after-restart"):
        async with running(gateway_runner(bootstrap, topics, instance=instance)) as runner:
            await send_requests(producer, topics, 20)
            await until(lambda: runner.stats.records_in == 20)

    messages = await exported(bootstrap, topics, tmp_path / "audit.jsonl")

    verified(tmp_path / "audit.jsonl")
    assert_one_chain_per_partition(messages)
    instances = Counter(r.gateway_instance for _, r in records(messages))
    assert instances == {"before-restart": 20, "after-restart": 20}


async def test_two_static_shards_write_disjoint_audit_partitions(
    broker: BrokerUnderTest, bootstrap: str, producer_factory: ProducerFactory, tmp_path: Path
) -> None:
    topics = fresh_topics(broker, partitions=4)
    producer = await producer_factory()
    shards = [
        gateway_runner(bootstrap, topics, instance=f"shard-{i}", shard=(i, 2)) for i in (0, 1)
    ]
    async with running(shards[0]), running(shards[1]):
        await send_requests(producer, topics, 40)
        await until(lambda: sum(s.stats.records_in for s in shards) == 40)

    messages = await exported(bootstrap, topics, tmp_path / "audit.jsonl")

    verified(tmp_path / "audit.jsonl")
    writers = defaultdict(set)
    for partition, record in records(messages):
        writers[partition].add(record.gateway_instance)
    assert writers == {0: {"shard-0"}, 2: {"shard-0"}, 1: {"shard-1"}, 3: {"shard-1"}}


async def test_input_records_deleted_before_the_gateway_read_them_are_audited_as_a_gap(
    broker: BrokerUnderTest,
    bootstrap: str,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
    tmp_path: Path,
) -> None:
    topics = fresh_topics(broker, partitions=1)
    producer = await producer_factory(max_request_size=1024 * 1024)
    async with running(gateway_runner(bootstrap, topics, instance="before")) as runner:
        await send_requests(producer, topics, 1)
        await until(lambda: runner.stats.records_in == 1)
    # While no gateway runs, 8 MB arrive and retention keeps about 2-5 MB of them, so the oldest
    # are deleted unread.
    broker.limit_retention(topics.requests("nhs"), 2 * 1024 * 1024)
    for _ in range(40):
        await producer.send(topics.requests("nhs"), b"x" * 200_000, key=b"bulk")
    await producer.flush()
    partition = TopicPartition(topics.requests("nhs"), 0)
    offsets = await consumer_factory()
    first_left = 0
    for _ in range(150):  # Apache Kafka deletes old segments at its next retention check
        first_left = (await offsets.beginning_offsets([partition]))[partition]
        if first_left > 1:
            break
        await asyncio.sleep(0.1)
    assert first_left > 1
    # Then nothing more may go, or a deletion while the gateway reads would make a second gap.
    broker.limit_retention(topics.requests("nhs"), None)
    first_left = await _settled_start(offsets, partition)

    async with running(gateway_runner(bootstrap, topics, instance="after")) as runner:
        await until(lambda: runner.stats.records_in == 41 - first_left)

    messages = await exported(bootstrap, topics, tmp_path / "audit.jsonl")

    verified(tmp_path / "audit.jsonl")
    (gap,) = [r for _, r in records(messages) if r.outcome is AuditOutcome.INPUT_GAP]
    assert gap.input_offset == 1 and gap.gateway_instance == "after"
    assert gap.reasons[0].code == "input.gap"
    assert f"of {topics.requests('nhs')} partition 0 were never read" in gap.reasons[0].message
    assert f"offsets 1-{first_left - 1} " in gap.reasons[0].message
    dead = [r for _, r in records(messages) if r.outcome is AuditOutcome.DEAD_LETTERED]
    assert [r.input_offset for r in dead] == list(range(first_left, 41))


async def _settled_start(offsets: AIOKafkaConsumer, partition: TopicPartition) -> int:
    """The partition's first offset once it has held still over three retention checks."""
    start, still_since = -1, asyncio.get_running_loop().time()
    while asyncio.get_running_loop().time() - still_since < 3.5:
        now = (await offsets.beginning_offsets([partition]))[partition]
        if now != start:
            start, still_since = now, asyncio.get_running_loop().time()
        await asyncio.sleep(0.25)
    return start


async def test_with_the_chain_switched_off_records_are_written_unlinked_and_do_not_verify(
    broker: BrokerUnderTest, bootstrap: str, producer_factory: ProducerFactory, tmp_path: Path
) -> None:
    topics = fresh_topics(broker, partitions=2)
    producer = await producer_factory()
    settings = GatewaySettings(
        bootstrap=bootstrap, topic_prefix=topics.prefix, instance_id="off", audit_chain=False
    )
    async with running(gateway_runner(bootstrap, topics, settings=settings)) as runner:
        await send_requests(producer, topics, 10)
        await until(lambda: runner.stats.records_in == 10)

    messages = await exported(bootstrap, topics, tmp_path / "audit.jsonl")

    assert {read_link(m.value) for m in messages} == {("", -1)}
    report = verify_export(tmp_path / "audit.jsonl")
    assert "written with the audit chain switched off" in str(report.problems[0])


async def test_an_export_includes_a_transaction_committed_while_it_began(
    broker: BrokerUnderTest, bootstrap: str, producer_factory: ProducerFactory
) -> None:
    # Kafka writes commit markers after the commit returns; until then the committed end of the
    # partition stays before the transaction, so a read that trusted it would miss the records.
    topics = fresh_topics(broker, partitions=1)
    producer = await producer_factory(transactional_id=f"{topics.prefix}-writer")
    await producer.begin_transaction()
    await producer.send_and_wait(topics.audit, b"committed late", partition=0)
    reading = asyncio.create_task(read_audit_log(bootstrap, topics.audit, settle_s=20.0))
    await asyncio.sleep(1.0)
    await producer.commit_transaction()

    _, messages = await reading

    assert [m.value for m in messages] == [b"committed late"]


async def test_an_export_leaves_out_a_transaction_that_stays_open(
    broker: BrokerUnderTest, bootstrap: str, producer_factory: ProducerFactory
) -> None:
    topics = fresh_topics(broker, partitions=1)
    producer = await producer_factory(transactional_id=f"{topics.prefix}-writer")
    async with producer.transaction():
        await producer.send_and_wait(topics.audit, b"committed", partition=0)
    await producer.begin_transaction()
    await producer.send_and_wait(topics.audit, b"never committed", partition=0)

    _, messages = await read_audit_log(bootstrap, topics.audit, settle_s=1.0)

    assert [m.value for m in messages] == [b"committed"]
    await producer.abort_transaction()
