"""The Kafka clients the gateway runner consumes and writes with, configured in one place; the
benchmarks' pass-through and floor loops use the same ones, so they measure like the runner."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from gateway.transport.topics import READ_COMMITTED

__all__ = ["input_consumer", "output_producer"]


def output_producer(bootstrap: str, *, request_timeout_ms: int, **extra: Any) -> Any:
    """An idempotent producer acknowledged by every in-sync replica, batching for throughput;
    ``extra`` adds settings (a transactional id)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=request_timeout_ms,
        **extra,
    )


def input_consumer(
    *topics: str,
    bootstrap: str,
    group_id: str,
    max_records: int,
    wait_ms: int,
    session_timeout_ms: int,
) -> Any:
    """A group consumer of committed records that commits itself, in batches of at most
    ``max_records``, waiting at most ``wait_ms`` for a fetch."""
    return AIOKafkaConsumer(
        *topics,
        isolation_level=READ_COMMITTED,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=max_records,
        fetch_max_wait_ms=wait_ms,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        # The same partition numbers of every input topic: the audit partition invariant.
        partition_assignment_strategy=(RangePartitionAssignor,),
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=max(session_timeout_ms // 5, 100),
    )
