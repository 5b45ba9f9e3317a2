"""The partition of a keyed record: the batched writer and the cap keeper use one calculation,
the producer's default partitioner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner, murmur2
from hypothesis import given
from hypothesis import strategies as st

from gateway import _hashes
from gateway.exchange.messages import OutputMessage
from gateway.policy import cap_key_bytes
from gateway.transport import partitioning
from gateway.transport.partitioning import key_partition
from gateway.transport.produce import send_and_wait_all
from gateway.transport.volume_restore import cap_partition

KEYS = [b"", b"req-1", b"\xff" * 9, b"nhs-ho-capped|status|nhs", bytes(range(40))]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 12, 256])
def test_a_key_gets_the_partition_the_default_partitioner_picks(count: int) -> None:
    for key in KEYS:
        assert key_partition(key, count) == DefaultPartitioner()(key, list(range(count)), [])


@given(key=st.binary(max_size=80))
def test_the_c_murmur2_is_aiokafkas_for_any_key(key: bytes) -> None:
    """Every length modulo four, any byte: the tail and the sign bits are where ports differ."""
    assert _hashes.murmur2(key) == murmur2(key)
    assert _hashes.murmur2(bytearray(key)) == murmur2(key)


def test_the_c_murmur2_is_built_and_picks_partitions_here() -> None:
    assert partitioning.AVAILABLE, "gateway._hashes was not built (see setup.py)"
    assert partitioning._key_hash is partitioning._c_key_hash


def test_without_the_c_murmur2_partitions_are_picked_by_aiokafkas_murmur2() -> None:
    script = (
        "from gateway.transport import partitioning as p\n"
        "print(p.AVAILABLE, p._key_hash is p._python_key_hash, p.key_partition(b'req-1', 12))\n"
    )
    env = {**os.environ, "GATEWAY_PURE_PYTHON": "1"}
    shown = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    expected = DefaultPartitioner()(b"req-1", list(range(12)), [])
    assert shown.stdout.split() == ["False", "True", str(expected)]


@pytest.mark.kafka
async def test_the_batched_writer_puts_each_cap_key_where_the_cap_keeper_looks_for_it(
    topic_factory: Callable[..., str],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
    consumer_factory: Callable[..., Awaitable[AIOKafkaConsumer]],
) -> None:
    topic = topic_factory(partitions=4)
    keys = [("nhs-ho-capped", "status", dept) for dept in ("dfe", "dwp", "hmrc", "ho", "nhs")]
    producer = await producer_factory()

    await send_and_wait_all(producer, [OutputMessage(topic, cap_key_bytes(k), b"v") for k in keys])

    consumer = await consumer_factory(topic)
    written: dict[bytes | None, int] = {}
    while len(written) < len(keys):
        batches = await consumer.getmany(timeout_ms=5000)
        assert batches, "the records were not all written"
        written.update((r.key, r.partition) for records in batches.values() for r in records)
    assert written == {cap_key_bytes(k): cap_partition(k, 4) for k in keys}
