"""The gateway on Apache Kafka: the end-to-end path, and group-managed sharing between instances
(which the embedded broker cannot show: its groups never settle with two members)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from consumers.datasets import generate
from gateway.departments import DepartmentClient, answer_from_dataset, index_records
from gateway.envelope.models import Reply, ReplyOutcome, ResponseStatus
from gateway.service import build_processor
from gateway.settings import DEFAULT_DEPARTMENTS, GatewaySettings
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

pytestmark = pytest.mark.real_kafka

HO_PEOPLE = generate("ho", 10)
PERSON = HO_PEOPLE[0]


def create_gateway_topics(bootstrap: str, partitions: int = 4) -> TopicNames:
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    topics = TopicNames(f"rk{uuid.uuid4().hex[:8]}")
    names = topics.all_topics(list(DEFAULT_DEPARTMENTS))
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(n, num_partitions=partitions) for n in names])
    for future in futures.values():
        future.result(timeout=30)
    return topics


def runner(bootstrap: str, topics: TopicNames, instance: str) -> GatewayRunner:
    settings = GatewaySettings(
        bootstrap=bootstrap, topic_prefix=topics.prefix, instance_id=instance
    )
    return GatewayRunner(
        build_processor(settings),
        bootstrap=bootstrap,
        topics=topics,
        departments=settings.departments,
        group_id=f"{topics.prefix}-gateway",
        batch_timeout_ms=50,
    )


async def test_an_approved_request_is_answered_redacted_on_apache_kafka(bootstrap: str) -> None:
    topics = create_gateway_topics(bootstrap)
    gateway = runner(bootstrap, topics, "gw-1")
    stop = asyncio.Event()
    await gateway.start()
    tasks = [asyncio.create_task(gateway.run(stop))]
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
    bootstrap: str,
) -> None:
    topics = create_gateway_topics(bootstrap)
    gateways = [runner(bootstrap, topics, f"gw-{i}") for i in (1, 2)]
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
        assert sum(g.assigned() for g in gateways) == 48  # 6 departments x 2 inputs x 4
        assert all(g.stats.records_in > 0 for g in gateways)
        assert sum(g.stats.records_in for g in gateways) == 60
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for gateway in gateways:
            await gateway.stop()
