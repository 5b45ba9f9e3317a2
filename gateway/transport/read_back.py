"""Reading partitions back to a known end, correctly under read-committed isolation.

A read-committed consumer never returns transaction markers or aborted records, so the record at
``end - 1`` may never arrive. Progress is therefore measured by the consumer's position, which
moves past markers and aborted records, and never by the offset of the last record returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

__all__ = ["last_records", "read_to_ends"]


async def read_to_ends(
    consumer: AIOKafkaConsumer,
    ends: Mapping[TopicPartition, int],
    *,
    max_records: int = 5000,
    poll_ms: int = 200,
    idle_timeout: float | None = None,
) -> AsyncIterator[tuple[TopicPartition, list[Any]]]:
    """Batches of records below ``ends``, read from the assigned partitions' current positions
    until every position has reached its end.

    Raises ``TimeoutError`` after ``idle_timeout`` seconds in which no position moved.
    """
    loop = asyncio.get_running_loop()
    positions = {tp: await consumer.position(tp) for tp in ends}
    pending = [tp for tp, end in ends.items() if positions[tp] < end]
    moved_at = loop.time()
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=poll_ms, max_records=max_records)
        for tp, records in batch.items():
            below = [r for r in records if r.offset < ends[tp]]
            if below:
                yield tp, below
        still = []
        for tp in pending:
            position = await consumer.position(tp)
            if position != positions[tp]:
                positions[tp], moved_at = position, loop.time()
            if position < ends[tp]:
                still.append(tp)
        if idle_timeout is not None and loop.time() - moved_at > idle_timeout:
            raise TimeoutError(f"no progress reading {len(still)} partitions for {idle_timeout}s")
        pending = still


async def last_records(
    consumer: AIOKafkaConsumer,
    begins: Mapping[TopicPartition, int],
    ends: Mapping[TopicPartition, int],
) -> dict[TopicPartition, Any]:
    """The last committed record below ``ends`` of each assigned partition that has one.

    Reads back from the end in growing windows, since the last offsets may hold transaction
    markers or aborted records. Records that retention deleted meanwhile do not matter: the
    consumer then resets to the earliest left (``auto_offset_reset="earliest"``).
    """
    last: dict[TopicPartition, Any] = {}
    window = 1
    pending = {tp: end for tp, end in ends.items() if end > begins[tp]}
    while pending:
        starts = {tp: max(begins[tp], end - window) for tp, end in pending.items()}
        for tp, start in starts.items():
            consumer.seek(tp, start)
        async for tp, records in read_to_ends(consumer, pending):
            for record in records:
                if tp not in last or record.offset > last[tp].offset:
                    last[tp] = record
        # Done where a record was found or the window reached the partition's beginning.
        pending = {
            tp: end for tp, end in pending.items() if tp not in last and starts[tp] > begins[tp]
        }
        window *= 16
    return last
