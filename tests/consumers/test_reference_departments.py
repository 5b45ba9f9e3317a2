"""The faust reference departments, running in-process on the embedded broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from consumers.datasets import generate
from consumers.departments import app_id, required_topics, run_departments
from gateway.envelope.codec import Codec
from gateway.envelope.datasets import DATASET_BY_PROVIDER
from gateway.envelope.models import ProviderResponse, ResponseStatus, RoutedRequest
from gateway.transport.broker import EmbeddedBroker
from gateway.transport.topics import TopicNames

pytestmark = pytest.mark.kafka


def test_required_topics_names_faust_leader_topics() -> None:
    """Faust needs one leader-election topic per app, named after the app id."""
    topics = TopicNames(prefix="dx")
    assert app_id("nhs", topics) == "dx-dept-nhs"
    assert required_topics([app_id("nhs", topics)]) == ["dx-dept-nhs-__assignor-__leader"]


def _routed(provider: str, identifier: str, value: str) -> RoutedRequest:
    return RoutedRequest(
        request_id=uuid.uuid4().hex,
        requester="ho",
        provider=provider,
        agreement_id="ho-nhs-debtor-reporting",
        purpose="immigration-application-debt-check",
        query={identifier: value},
        wanted=["outstanding_debt_gbp"],
        policy_version="v-test",
        issued_at=datetime(2026, 5, 1, 9, 0, tzinfo=UTC),
        token="signed-by-the-gateway",
    )


async def test_faust_department_answers_routed_requests_from_its_dataset(
    broker: EmbeddedBroker,
    bootstrap: str,
    consumer_factory: Callable[..., Awaitable[AIOKafkaConsumer]],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
) -> None:
    """A faust NHS service answers its inbox: FOUND with the dataset record for a known NHS
    number (context and token echoed), NOT_FOUND for an unknown one; it skips junk."""
    topics = TopicNames(prefix=f"t{uuid.uuid4().hex[:10]}")
    broker.create_topics(topics.all_topics(["nhs"]))
    broker.create_topics(required_topics([app_id("nhs", topics)]), partitions=1)
    codec = Codec.default()
    records = generate("nhs", 50)
    known = _routed("nhs", "nhs_number", records[3]["nhs_number"])
    unknown = _routed("nhs", "nhs_number", "9990000000")
    inbox = await producer_factory()
    await inbox.send_and_wait(topics.inbox("nhs"), b"junk", key=b"junk")
    for routed in (known, unknown):
        await inbox.send_and_wait(
            topics.inbox("nhs"), codec.encode(routed), key=routed.request_id.encode()
        )
    responses = await consumer_factory(topics.responses("nhs"))

    stop, ready = asyncio.Event(), asyncio.Event()
    service = asyncio.create_task(
        run_departments(bootstrap, ["nhs"], stop, topics=topics, dataset_size=50, ready=ready)
    )
    try:
        answers: dict[str, tuple[bytes | None, ProviderResponse]] = {}
        async with asyncio.timeout(30):
            await ready.wait()
            while len(answers) < 2:
                batch = await responses.getmany(timeout_ms=200)
                for message in (m for ms in batch.values() for m in ms):
                    response = codec.decode(message.value, ProviderResponse)
                    answers[response.request_id] = (message.key, response)
    finally:
        stop.set()
        counts = await asyncio.wait_for(service, 30)

    assert counts == {"nhs": 2}
    key, found = answers[known.request_id]
    assert key == known.request_id.encode()
    assert found.status is ResponseStatus.FOUND and found.responder == "nhs"
    assert (found.token, found.issued_at, found.wanted) == (
        known.token,
        known.issued_at,
        known.wanted,
    )
    assert found.record is not None
    assert codec.decode_record_as(found.record, DATASET_BY_PROVIDER["nhs"]) == records[3]
    assert answers[unknown.request_id][1].status is ResponseStatus.NOT_FOUND
