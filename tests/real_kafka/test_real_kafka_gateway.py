"""The gateway on Apache Kafka: the end-to-end path, and group-managed sharing between instances
(which the embedded broker cannot show: its groups never settle with two members)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from gateway.departments import DepartmentClient, answer_from_dataset, index_records
from gateway.envelope.models import Reply, ReplyOutcome, ResponseStatus
from gateway.synthetic.datasets import generate
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

pytestmark = pytest.mark.real_kafka

GatewayTopics = Callable[..., TopicNames]
RunnerFactory = Callable[[TopicNames, str], GatewayRunner]

HO_PEOPLE = generate("ho", 10)
PERSON = HO_PEOPLE[0]


async def test_an_approved_request_is_answered_redacted_on_apache_kafka(
    bootstrap: str, gateway_topics: GatewayTopics, gateway_runner_factory: RunnerFactory
) -> None:
    topics = gateway_topics()
    gateway = gateway_runner_factory(topics, "gw-1")
    stop = asyncio.Event()
    await gateway.start()
    tasks: list[asyncio.Task[Any]] = [asyncio.create_task(gateway.run(stop))]
    try:
        await gateway.wait_assigned(within=60)
        async with (
            DepartmentClient("ho", bootstrap, topics=topics) as ho,
            DepartmentClient("nhs", bootstrap, topics=topics) as nhs,
        ):
            handler = answer_from_dataset(index_records(HO_PEOPLE, "person_id"), "person_id")
            tasks.append(asyncio.create_task(ho.serve(handler, stop=stop)))
            reply = await nhs.request(
                "ho",
                "nhs-ho-status-check",
                "overseas-visitor-charging",
                {"person_id": PERSON["person_id"]},
                timeout=60,
            )
        assert reply.status is ResponseStatus.FOUND
        assert reply.outcome is ReplyOutcome.REDACTED
        assert "address" not in json.loads(reply.record_json or "{}")
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await gateway.stop()


async def test_two_instances_in_one_group_share_the_partitions_and_answer_each_request_once(
    bootstrap: str, gateway_topics: GatewayTopics, gateway_runner_factory: RunnerFactory
) -> None:
    topics = gateway_topics()
    gateways = [gateway_runner_factory(topics, f"gw-{i}") for i in (1, 2)]
    stop = asyncio.Event()
    tasks = []
    try:
        for gateway in gateways:
            await gateway.start()
            tasks.append(asyncio.create_task(gateway.run(stop)))
        deadline = asyncio.get_running_loop().time() + 60
        while not all(g.assigned() for g in gateways):
            assert asyncio.get_running_loop().time() < deadline, "group did not settle"
            await asyncio.sleep(0.2)
        async with DepartmentClient("nhs", bootstrap, topics=topics) as nhs:
            requests = [
                nhs.new_request("ho", "nhs-ho-status-check", "marketing", {"person_id": "x"})
                for _ in range(60)
            ]
            replies = await nhs.request_many(requests, timeout=60)
        assert all(isinstance(r, Reply) and r.outcome is ReplyOutcome.DENIED for r in replies)
        assert sum(g.assigned() for g in gateways) == 52  # 6 departments x 2 inputs x 4, + capped
        assert all(g.stats.records_in > 0 for g in gateways)
        assert sum(g.stats.records_in for g in gateways) == 60
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for gateway in gateways:
            await gateway.stop()
