"""Cluster snapshots on Apache Kafka (or the embedded broker), with a running gateway and real
traffic: the counts, lags, dead letters and audit chain heads they report match what was sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from factories_support import ClientFactory, ProducerFactory, ProviderFactory

from gateway.departments import DepartmentClient, answer_from_dataset, index_records
from gateway.embedded.broker import EmbeddedBroker
from gateway.errors import TransportError
from gateway.operations.reader import ClusterReader, take_snapshot
from gateway.operations.snapshot import ClusterSnapshot
from gateway.synthetic.datasets import generate
from gateway.testing import fresh_topics, gateway_runner
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

HO_PEOPLE = generate("ho", 10)
HO = index_records(HO_PEOPLE, "person_id")
STATUS = ("nhs-ho-status-check", "overseas-visitor-charging")


async def ask(nhs: DepartmentClient, person: dict[str, object], purpose: str = STATUS[1]) -> None:
    query = {"person_id": str(person["person_id"]), "surname": str(person["surname"])}
    await nhs.request("ho", STATUS[0], purpose, query)


async def settled(
    reader: ClusterReader, until: Callable[[ClusterSnapshot], bool], within: float = 15.0
) -> ClusterSnapshot:
    """Snapshots until ``until`` holds (the gateway commits after each batch), or the last one."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        snapshot = await reader.snapshot()
        if until(snapshot) or asyncio.get_running_loop().time() > deadline:
            return snapshot
        await asyncio.sleep(0.2)


async def test_decisions_per_agreement_and_outcome_match_the_traffic_and_lag_drains_to_zero(
    bootstrap: str,
    topics: TopicNames,
    gateway: GatewayRunner,
    department: ClientFactory,
    provider: ProviderFactory,
) -> None:
    await provider("ho", answer_from_dataset(HO, "person_id"))
    nhs = await department("nhs")
    await asyncio.gather(*(ask(nhs, p) for p in HO_PEOPLE[:5]))
    await asyncio.gather(*(ask(nhs, p, purpose="debt-collection") for p in HO_PEOPLE[:3]))
    group = f"{topics.prefix}-gateway"

    async with ClusterReader(bootstrap, prefix=topics.prefix, groups=[group]) as reader:
        snapshot = await settled(reader, lambda s: s.total_lag(group) == 0)

    counts = snapshot.decisions_for(STATUS[0])
    approved = sum(counts[o].last_minute for o in ("APPROVED", "APPROVED_MINIMISED") if o in counts)
    assert approved == 5
    assert counts["DENIED"].last_minute == 3 and counts["DENIED"].last_hour == 3
    answered = sum(counts[o].last_minute for o in ("RELEASED", "REDACTED") if o in counts)
    assert answered == 5
    assert {(r.outcome, r.code, r.last_hour) for r in snapshot.reasons} >= {
        ("DENIED", "purpose.not_allowed", 3)
    }
    assert snapshot.total_lag(group) == 0
    requests = [p for p in snapshot.inputs if p.topic == topics.requests("nhs")]
    assert sum(p.end for p in requests) == 8
    assert all(p.groups[0].committed == p.end for p in requests if p.end)
    assert snapshot.policy_version is not None
    assert snapshot.departments == ("dfe", "dwp", "hmrc", "ho", "nhs", "rtw")


async def test_records_written_while_no_gateway_runs_are_lag_then_dead_letters_once_processed(
    bootstrap: str, broker: EmbeddedBroker, producer_factory: ProducerFactory
) -> None:
    topics = fresh_topics(broker)
    group = f"{topics.prefix}-gateway"
    producer = await producer_factory()
    for i in range(4):
        await producer.send_and_wait(topics.requests("dwp"), b"not avro %d" % i, key=b"k%d" % i)

    async with ClusterReader(bootstrap, prefix=topics.prefix, groups=[group]) as reader:
        before = await reader.snapshot()
        assert before.total_lag(group) == 4
        lagging = [p for p in before.inputs if p.lag(group)]
        assert {p.topic for p in lagging} == {topics.requests("dwp")}
        assert all(p.groups[0].committed is None for p in lagging)
        assert before.dead_letters.total == 0

        runner = gateway_runner(bootstrap, topics)
        stop = asyncio.Event()
        await runner.start()
        task = asyncio.create_task(runner.run(stop))
        try:
            after = await settled(
                reader, lambda s: s.total_lag(group) == 0 and s.dead_letters.total == 4
            )
        finally:
            stop.set()
            await task
            await runner.stop()
        final = await reader.snapshot()

    assert after.total_lag(group) == 0
    assert after.dead_letters.total == 4
    notes = after.dead_letters.latest
    assert len(notes) == 4
    assert {n.input_topic for n in notes} == {topics.requests("dwp")}
    assert all(n.reason and n.error_code for n in notes)
    assert "not avro" not in repr(after.to_dict())  # reasons, never payloads
    assert after.decisions_for(None)["DEAD_LETTERED"].last_minute == 4
    # The clean shutdown signed a checkpoint of every chain it wrote.
    written = [a for a in final.audit if a.head_sequence is not None]
    assert written
    for status in written:
        assert status.head_sequence is not None
        assert status.head_sequence < status.end  # offsets count transaction markers too
        assert status.checkpoint_sequence == status.head_sequence
        assert status.checkpoint_valid is True and status.unsigned == 0
        assert status.checkpoint_age_s is not None and 0 <= status.checkpoint_age_s < 60
    assert final.audit_ok


async def test_the_counts_of_a_snapshot_leave_out_decisions_older_than_an_hour(
    bootstrap: str,
    topics: TopicNames,
    gateway: GatewayRunner,
    department: ClientFactory,
    provider: ProviderFactory,
) -> None:
    await provider("ho", answer_from_dataset(HO, "person_id"))
    nhs = await department("nhs")
    await ask(nhs, HO_PEOPLE[0])
    later = datetime.now(UTC) + timedelta(hours=2)

    snapshot = await take_snapshot(bootstrap, prefix=topics.prefix, clock=lambda: later)

    assert snapshot.decisions == ()
    assert any(a.head_sequence is not None for a in snapshot.audit)


async def test_an_unreachable_broker_is_one_clear_transport_error() -> None:
    with pytest.raises(TransportError, match=r"cannot reach Kafka at 127\.0\.0\.1:1"):
        await take_snapshot("127.0.0.1:1", timeout_s=3)
