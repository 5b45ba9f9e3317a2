"""The traffic run: each planned request sent from its requester, each reply counted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from gateway.departments.traffic import run_traffic
from gateway.embedded.broker import EmbeddedBroker
from gateway.envelope.codec import Codec
from gateway.envelope.models import ExchangeRequest, Reply, ReplyOutcome, ResponseStatus
from gateway.synthetic.traffic import plan_requests
from gateway.testing import signed_as_gateway
from gateway.transport.topics import TopicNames

_SIZE = 200


@pytest.mark.kafka
async def test_run_traffic_sends_the_plan_and_counts_replies(
    broker: EmbeddedBroker,
    bootstrap: str,
    consumer_factory: Callable[..., Awaitable[AIOKafkaConsumer]],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
) -> None:
    """run_traffic() sends each planned request from its requester and counts the replies; a
    gateway that approves everything shows up as unexpected for the kinds that should be denied."""
    topics = TopicNames(prefix=f"t{uuid.uuid4().hex[:10]}")
    depts = ["ho", "nhs", "rtw"]
    broker.create_topics(topics.all_topics(depts))
    codec = Codec.default()
    gateway_in = await consumer_factory(*(topics.requests(d) for d in depts))
    gateway_out = await producer_factory()
    count = 30

    async def approve_everything() -> None:
        answered = 0
        while answered < count:
            batch = await gateway_in.getmany(timeout_ms=200)
            for message in (m for ms in batch.values() for m in ms):
                request = codec.decode(message.value, ExchangeRequest)
                reply = Reply(
                    request_id=request.request_id,
                    requester=request.requester,
                    provider=request.provider,
                    agreement_id=request.agreement_id,
                    purpose=request.purpose,
                    outcome=ReplyOutcome.APPROVED,
                    status=ResponseStatus.FOUND,
                    policy_version="test",
                    replied_at=datetime.now(UTC),
                )
                topic, value = topics.replies(request.requester), codec.encode(reply)
                await gateway_out.send(
                    topic, value, key=message.key, headers=signed_as_gateway(topic, value)
                )
                answered += 1

    gateway = asyncio.create_task(approve_everything())
    stats = await run_traffic(
        bootstrap, rate_per_s=300, count=count, seed=2, topics=topics, dataset_size=_SIZE
    )
    await gateway

    plan = plan_requests(count, seed=2, dataset_size=_SIZE)
    assert stats.sent == stats.replied == count and stats.timeouts == 0
    assert stats.outcomes == {"APPROVED": count}
    assert stats.unexpected == sum(p.expect_denied for p in plan)
    assert sum(sum(c.values()) for c in stats.by_kind.values()) == count
    assert 0 < stats.percentile_ms(0.5) <= stats.percentile_ms(0.99)
