"""Waiting on what the gateway has finished, so a test of an absence neither guesses a delay nor
passes before the gateway got to the record."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition
from factories_support import ConsumerFactory

from gateway.transport.read_back import read_to_ends
from gateway.transport.topics import TopicNames

__all__ = ["gateway_committed_past", "read_to_end"]


async def gateway_committed_past(
    consumer_factory: ConsumerFactory,
    topics: TopicNames,
    topic: str,
    partition: int,
    offset: int,
    within: float = 10.0,
) -> None:
    """Return once the gateway's group has committed ``topic[partition]`` past ``offset``. The
    runner commits an input only after every output of its batch is acknowledged, so from then on
    whatever the gateway wrote for that record is on its topic."""
    reader = await consumer_factory(group_id=f"{topics.prefix}-gateway", enable_auto_commit=False)
    tp = TopicPartition(topic, partition)
    deadline = asyncio.get_running_loop().time() + within
    while ((await reader.committed(tp)) or 0) <= offset:
        assert asyncio.get_running_loop().time() < deadline, f"{tp} not committed past {offset}"
        await asyncio.sleep(0.05)


async def read_to_end(consumer_factory: ConsumerFactory, topic: str) -> list[Any]:
    """Every (committed) value on ``topic``, from the start to its end offsets as of now."""
    consumer = await consumer_factory()
    if consumer.partitions_for_topic(topic) is None:  # as gateway.operations.deadletters asks
        await consumer._client.force_metadata_update()
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    assert tps, f"no partitions of {topic}"
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    ends = await consumer.end_offsets(tps)
    batches = read_to_ends(consumer, ends, idle_timeout=10.0)
    return [r.value async for _, records in batches for r in records]
