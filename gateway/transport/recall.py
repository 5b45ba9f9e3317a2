"""Rebuild the processor's memory of answered requests from the tail of the output topics.

The processor recognises a redelivered request by its id, but that memory is per process. Kafka
redelivers after a crash or restart (outputs written, offsets not yet committed), so a new
instance first reads the most recent inbox requests and replies it wrote and remembers them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from gateway.exchange.processor import ExchangeProcessor
from gateway.transport.topics import TopicNames

__all__ = ["recall_recent_outputs"]

log = logging.getLogger("gateway.runner")


async def recall_recent_outputs(
    processor: ExchangeProcessor,
    *,
    bootstrap: str,
    topics: TopicNames,
    departments: Sequence[str],
    partitions_for: Callable[[str], Awaitable[set[int]]],
    per_partition: int = 20_000,
) -> int:
    """Feed the last ``per_partition`` records of every inbox and replies topic to
    ``processor.recall``; returns how many records were read."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        fetch_max_wait_ms=10,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions: list[TopicPartition] = []
        for dept in departments:
            for topic in (topics.inbox(dept), topics.replies(dept)):
                partitions += [TopicPartition(topic, p) for p in await partitions_for(topic)]
        if not partitions:
            return 0
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        remaining = {}
        for tp in partitions:
            first = max(starts[tp], ends[tp] - per_partition)
            if first < ends[tp]:
                consumer.seek(tp, first)
                remaining[tp] = ends[tp]
        read = 0
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=200, max_records=5000)
            for tp, records in batch.items():
                for record in records:
                    processor.recall(record.topic, record.value)
                read += len(records)
                if records and records[-1].offset + 1 >= remaining[tp]:
                    del remaining[tp]
        log.info("recalled %d recent outputs for de-duplication", read)
        return read
    finally:
        await consumer.stop()
