"""``gateway deadletter``: dead letters listed by reason and input coordinates without their
payload, shown with it only when asked, and replayed to their topic with an audited replay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from click.testing import CliRunner

from gateway.audit.chain import CHECKPOINT_KEY
from gateway.cli.deadletter import deadletter_group
from gateway.embedded.broker import EmbeddedBroker
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditOutcome, AuditRecord
from gateway.operations.deadletters import (
    NoSuchDeadLetter,
    find_dead_letter,
    read_dead_letters,
    replay_dead_letter,
)
from gateway.testing import fresh_topics, gateway_runner, until
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

CODEC = Codec.default()
SECRET = b"not avro, and personal: 9990001234"


@pytest.fixture
async def dead(broker: EmbeddedBroker) -> AsyncIterator[tuple[GatewayRunner, TopicNames]]:
    """A gateway that has dead-lettered one record of ``dx.requests.dfe``."""
    topics = fresh_topics(broker)
    runner = gateway_runner(broker.bootstrap, topics)
    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    await producer.send_and_wait(topics.requests("dfe"), SECRET, key=b"key-1", partition=2)
    await producer.stop()
    await until(lambda: runner.stats.records_in >= 1)
    try:
        yield runner, topics
    finally:
        stop.set()
        await task
        await runner.stop()


async def _cli(*args: str) -> str:
    result = await asyncio.to_thread(CliRunner().invoke, deadletter_group, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def test_list_names_reason_and_coordinates_but_never_the_payload(
    dead: tuple[GatewayRunner, TopicNames], bootstrap: str
) -> None:
    _, topics = dead
    (entry,) = await read_dead_letters(bootstrap, topics.prefix)
    assert entry.letter.input_topic == topics.requests("dfe")
    assert entry.letter.input_partition == 2
    where = ["--bootstrap", bootstrap, "--prefix", topics.prefix]
    out = await _cli("list", *where, "--format", "json")
    (line,) = out.splitlines()
    listed = json.loads(line)
    assert listed["error_code"] == entry.letter.error_code
    assert (listed["input_topic"], listed["input_partition"], listed["input_offset"]) == (
        topics.requests("dfe"),
        2,
        0,
    )
    assert "9990001234" not in out and SECRET.hex() not in out
    table = await _cli("list", "--bootstrap", bootstrap, "--prefix", topics.prefix)
    assert entry.ref in table and "9990001234" not in table


async def test_show_prints_the_payload_only_with_the_flag(
    dead: tuple[GatewayRunner, TopicNames], bootstrap: str
) -> None:
    _, topics = dead
    (entry,) = await read_dead_letters(bootstrap, topics.prefix)
    where = ["--bootstrap", bootstrap, "--prefix", topics.prefix]
    plain = json.loads(await _cli("show", entry.letter.dead_letter_id, *where))
    assert "payload_hex" not in plain and plain["payload_bytes"] == len(SECRET)
    full = json.loads(await _cli("show", entry.ref, *where, "--payload"))
    assert bytes.fromhex(full["payload_hex"]) == SECRET
    assert bytes.fromhex(full["key_hex"]) == b"key-1"
    with pytest.raises(NoSuchDeadLetter):
        await find_dead_letter(bootstrap, topics.prefix, "0" * 32)


async def test_a_replay_goes_back_to_its_partition_and_its_audit_record_names_the_dead_letter(
    dead: tuple[GatewayRunner, TopicNames], bootstrap: str
) -> None:
    runner, topics = dead
    (entry,) = await read_dead_letters(bootstrap, topics.prefix)
    partition, offset = await replay_dead_letter(bootstrap, entry, "operator.one")
    assert (partition, offset) == (2, 1)
    await until(lambda: runner.stats.records_in >= 2)

    consumer = AIOKafkaConsumer(
        topics.audit, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[AuditRecord] = []
    try:
        async with asyncio.timeout(10):
            while not any(r.input_offset == 1 for r in records):
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    for r in batch:
                        if r.key != CHECKPOINT_KEY:
                            records.append(CODEC.decode(r.value, AuditRecord))
    finally:
        await consumer.stop()
    (replayed,) = [r for r in records if r.input_offset == 1]
    assert replayed.outcome is AuditOutcome.DEAD_LETTERED  # still bad: no fix was made
    assert replayed.reasons[-1].code == "input.replayed"
    assert entry.letter.dead_letter_id in replayed.reasons[-1].message
    assert len(await read_dead_letters(bootstrap, topics.prefix)) == 2
