"""A gateway on the embedded broker with its metrics endpoint, and known traffic to send it: what
the tests that compare the metrics with ``gateway status`` and the console share."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from gateway.departments import DepartmentClient, answer_from_dataset, index_records
from gateway.embedded.broker import EmbeddedBroker
from gateway.operations.http import OperatorEndpoint, readiness
from gateway.operations.metrics import GatewayMetrics
from gateway.synthetic.datasets import generate
from gateway.testing import fresh_topics, gateway_runner, until
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

__all__ = [
    "HO_PEOPLE",
    "STATUS",
    "Running",
    "Scrape",
    "running_gateway",
    "send_traffic",
]

Scrape = dict[str, dict[tuple[tuple[str, str], ...], float]]
"""Sample name -> sorted labels -> value."""

HO_PEOPLE = generate("ho", 10)
HO = index_records(HO_PEOPLE, "person_id")
STATUS = ("nhs-ho-status-check", "overseas-visitor-charging")


@dataclass
class Running:
    """A gateway running with its operator endpoint at :attr:`url`."""

    runner: GatewayRunner
    metrics: GatewayMetrics
    topics: TopicNames
    url: str

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.get(self.url + path)

    async def scrape(self) -> Scrape:
        text = (await self.get("/metrics")).text
        samples: Scrape = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
        return samples

    async def quiet(self, records_in: int) -> Scrape:
        """Once ``records_in`` input records are processed and committed: the metrics."""
        await until(lambda: self.runner.stats.records_in >= records_in)
        await asyncio.sleep(0.3)  # the last batch's commit
        return await self.scrape()

    @staticmethod
    def decisions(scraped: Scrape) -> dict[tuple[str | None, str], int]:
        """(agreement, outcome) -> decisions; None for records no agreement was read from."""
        counts: Counter[tuple[str | None, str]] = Counter()
        for labels, value in scraped["dx_gateway_decisions_total"].items():
            label = dict(labels)
            counts[label["agreement"] or None, label["outcome"]] += int(value)
        return dict(counts)

    @staticmethod
    def next_sequences(scraped: Scrape) -> dict[int, int]:
        """Audit partition -> the sequence its chain's next message gets."""
        return {
            int(dict(k)["partition"]): int(v)
            for k, v in scraped["dx_gateway_audit_chain_head_sequence"].items()
        }


@contextlib.asynccontextmanager
async def running_gateway(
    broker: EmbeddedBroker, *, audit_blocked: bool = False
) -> AsyncIterator[Running]:
    topics = fresh_topics(broker)
    if audit_blocked:
        broker.block_writes(topics.audit)
    runner = gateway_runner(broker.bootstrap, topics)
    metrics = GatewayMetrics()
    metrics.watch(runner)
    endpoint = OperatorEndpoint(metrics, lambda: readiness(runner))
    host, port = await endpoint.start("127.0.0.1", 0)
    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))
    await runner.wait_assigned()
    try:
        yield Running(runner, metrics, topics, f"http://{host}:{port}")
    finally:
        stop.set()
        await task
        await runner.stop()
        await endpoint.stop()


async def send_traffic(bootstrap: str, topics: TopicNames, *, junk: int = 3) -> list[str]:
    """Four approved and answered exchanges, five denials, ``junk`` undecodable records; returns
    the request ids used."""
    stop = asyncio.Event()
    async with (
        DepartmentClient("ho", bootstrap, topics=topics) as ho,
        DepartmentClient("nhs", bootstrap, topics=topics) as nhs,
    ):
        group = f"{topics.prefix}.ho.{uuid.uuid4().hex[:6]}"
        serving = asyncio.create_task(
            ho.serve(answer_from_dataset(HO, "person_id"), group_id=group, stop=stop)
        )
        people = HO_PEOPLE[:4]
        approved = [
            nhs.request("ho", *STATUS, {"person_id": p["person_id"], "surname": p["surname"]})
            for p in people
        ]
        denied = [
            nhs.request("ho", "nhs-ho-status-check", "debt-collection", {"person_id": "HO-x"})
            for _ in range(5)
        ]
        replies = await asyncio.gather(*approved, *denied)
        stop.set()
        await serving
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(junk):
            await producer.send_and_wait(topics.requests("dfe"), b"not avro", key=b"junk-%d" % i)
    finally:
        await producer.stop()
    return [r.request_id for r in replies]
