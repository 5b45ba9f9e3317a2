"""The audit chains across a group rebalance on Apache Kafka (the embedded broker cannot settle
a group of two): the old owner signs the chains it gives up, the new owner continues them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from gateway.audit.chain import is_checkpoint
from gateway.audit.files import read_export
from gateway.audit.verify import verify_export
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditCheckpoint, AuditRecord, ExchangeRequest
from gateway.testing import until
from gateway.transport.audit_log import export_audit
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

pytestmark = pytest.mark.real_kafka

GatewayTopics = Callable[..., TopicNames]
RunnerFactory = Callable[[TopicNames, str], GatewayRunner]
CODEC = Codec.default()


async def send(producer: AIOKafkaProducer, topics: TopicNames, count: int) -> None:
    for _ in range(count):
        request_id = uuid.uuid4().hex
        request = ExchangeRequest(
            request_id=request_id,
            requester="nhs",
            provider="ho",
            agreement_id="nhs-ho-status-check",
            purpose="overseas-visitor-charging",
            query={"person_id": "HO-000042"},
            sent_at=datetime.now(UTC),
        )
        await producer.send(topics.requests("nhs"), CODEC.encode(request), key=request_id.encode())
    await producer.flush()


async def test_a_rebalance_signs_the_chains_that_move_and_the_new_owner_continues_them(
    bootstrap: str,
    tmp_path: Path,
    gateway_topics: GatewayTopics,
    gateway_runner_factory: RunnerFactory,
) -> None:
    topics = gateway_topics()
    first, second = (
        gateway_runner_factory(topics, "first"),
        gateway_runner_factory(topics, "second"),
    )
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await first.start()
        tasks.append(asyncio.create_task(first.run(stop)))
        await first.wait_assigned(within=60)
        await send(producer, topics, 20)
        await until(lambda: first.stats.records_in == 20, within=60)
        await second.start()
        tasks.append(asyncio.create_task(second.run(stop)))
        await until(lambda: first.assigned() and second.assigned(), within=60)
        await send(producer, topics, 20)
        await until(lambda: first.stats.records_in + second.stats.records_in == 40, within=60)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for gateway in (first, second):
            await gateway.stop()
        await producer.stop()

    path = tmp_path / "audit.jsonl"
    await export_audit(bootstrap, topics, path)
    report = verify_export(path)
    assert report.ok, report.describe()
    _, messages = read_export(path)
    by_partition: dict[int, list[bytes]] = {}
    for m in messages:
        by_partition.setdefault(m.partition, []).append(m.value)
    moved = 0
    for values in by_partition.values():
        writers = [
            "cp" if is_checkpoint(CODEC, v) else CODEC.decode(v, AuditRecord).gateway_instance
            for v in values
        ]
        if "second" in writers and "first" in writers:
            handover = writers.index("second") - 1
            assert writers[handover] == "cp"
            signed_by = CODEC.decode(values[handover], AuditCheckpoint).gateway_instance
            assert signed_by == "first"
            moved += 1
    assert moved
