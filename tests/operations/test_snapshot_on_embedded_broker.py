"""What a snapshot does on the embedded broker, which cannot look offsets up by time."""

from __future__ import annotations

import asyncio
import uuid

from gateway.departments import DepartmentClient
from gateway.embedded.broker import EmbeddedBroker
from gateway.operations.reader import take_snapshot
from gateway.testing import fresh_topics, gateway_runner


async def test_a_broker_that_cannot_find_offsets_by_time_is_read_from_a_bounded_tail(
    bootstrap: str, broker: EmbeddedBroker
) -> None:
    topics = fresh_topics(broker)
    runner = gateway_runner(bootstrap, topics)
    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))
    try:
        async with DepartmentClient("nhs", bootstrap, topics=topics) as nhs:
            query = {"person_id": f"HO-{uuid.uuid4().hex[:6]}"}
            asks = [
                nhs.request("ho", "nhs-ho-status-check", "debt-collection", query)
                for _ in range(12)
            ]
            await asyncio.gather(*asks)
        whole = await take_snapshot(bootstrap, prefix=topics.prefix)
        tail = await take_snapshot(bootstrap, prefix=topics.prefix, tail_limit=2)
    finally:
        stop.set()
        await task
        await runner.stop()

    assert whole.decisions_for("nhs-ho-status-check")["DENIED"].last_hour == 12
    assert not any("offsets by time" in note for note in whole.notes)
    assert any("cannot find offsets by time" in note for note in tail.notes)
    counted = sum(d.last_hour for d in tail.decisions)
    assert 0 < counted <= 2 * len(tail.audit) < 12
    assert tail.audit_read_from is not None
