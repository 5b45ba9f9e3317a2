"""A Kafka node killed and restarted while requests flow: two gateway instances in one group
keep answering, and every request is answered exactly once (transactions, replication factor
three, ``min.insync.replicas`` two)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from gateway.chaos.exchanges import ReplyCollector
from gateway.cluster import KafkaCluster
from gateway.departments import DepartmentClient, answer_from_dataset, index_records
from gateway.envelope.codec import Codec
from gateway.envelope.models import ReplyOutcome, ResponseStatus
from gateway.settings import DEFAULT_DEPARTMENTS
from gateway.synthetic.datasets import generate
from gateway.testing import gateway_runner
from gateway.transport.topics import TopicNames

HO_PEOPLE = generate("ho", 20)
RATE = 25.0
REQUESTS = 500


async def test_requests_are_answered_exactly_once_across_a_broker_kill_and_restart(
    three_nodes: KafkaCluster,
) -> None:
    topics = TopicNames(f"br{uuid.uuid4().hex[:8]}")
    three_nodes.create_topics(topics.all_topics(list(DEFAULT_DEPARTMENTS)), 4)
    codec = Codec.default()
    bootstrap = three_nodes.bootstrap
    gateways = [
        gateway_runner(bootstrap, topics, instance=f"gw-{i}", session_timeout_ms=10_000)
        for i in (1, 2)
    ]
    stop = asyncio.Event()
    tasks: list[asyncio.Task[Any]] = []
    collector = ReplyCollector(bootstrap, topics, ["nhs"], codec, partitions=4)
    sent: list[str] = []
    victim = three_nodes.admin.leaders(topics.requests("nhs"))[0]
    try:
        for gateway in gateways:
            await gateway.start()
            tasks.append(asyncio.create_task(gateway.run(stop)))
        await collector.start()
        async with (
            DepartmentClient("ho", bootstrap, topics=topics) as ho,
            DepartmentClient("nhs", bootstrap, topics=topics) as nhs,
        ):
            handler = answer_from_dataset(index_records(HO_PEOPLE, "person_id"), "person_id")
            tasks.append(asyncio.create_task(ho.serve(handler, stop=stop)))

            async def fault() -> None:
                await asyncio.sleep(REQUESTS / RATE / 4)
                await asyncio.to_thread(three_nodes.kill_node, victim)
                await asyncio.sleep(3)
                await asyncio.to_thread(three_nodes.start_node, victim, 120.0)

            injecting = asyncio.create_task(fault())
            began = time.monotonic()
            for i in range(REQUESTS):
                await asyncio.sleep(max(began + i / RATE - time.monotonic(), 0))
                person = HO_PEOPLE[i % len(HO_PEOPLE)]
                request = nhs.new_request(
                    "ho",
                    "nhs-ho-status-check",
                    "overseas-visitor-charging",
                    {"person_id": person["person_id"]},
                )
                await nhs.publish(request)
                sent.append(request.request_id)
            await injecting
            deadline = time.monotonic() + 90
            while any(rid not in collector.replies for rid in sent):
                missing = sum(rid not in collector.replies for rid in sent)
                assert time.monotonic() < deadline, (
                    f"{missing} requests left unanswered; gateways own "
                    f"{[g.assigned() for g in gateways]} partitions, stats "
                    f"{[g.stats for g in gateways]}"
                )
                await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*tasks)
            tasks.clear()
        assert await collector.caught_up()
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for gateway in gateways:
            await gateway.stop()
        await collector.stop()
        if not three_nodes.running(victim):
            three_nodes.start_node(victim)

    replies = collector.replies
    assert sorted(replies) == sorted(sent)
    assert all(len(replies[rid]) == 1 for rid in sent)
    assert all(
        (r[0].outcome, r[0].status) == (ReplyOutcome.REDACTED, ResponseStatus.FOUND)
        for r in replies.values()
    )
    assert collector.rejected == []
