"""The department client on the embedded broker, with the gateway played by the test (signing
what it sends with the development key, as a gateway without a configured key does)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from factories_support import ClientFactory

from gateway.departments import (
    Answer,
    ClientClosedError,
    DepartmentClient,
    ExchangeTimeout,
    answer_from_dataset,
    index_records,
)
from gateway.envelope.codec import Codec
from gateway.envelope.datasets import DATASET_BY_PROVIDER
from gateway.envelope.models import (
    ExchangeRequest,
    ProviderResponse,
    Reply,
    ReplyOutcome,
    ResponseStatus,
    RoutedRequest,
)
from gateway.errors import GatewayError
from gateway.synthetic.datasets import generate
from gateway.testing import BrokerUnderTest, signed_as_gateway
from gateway.transport.topics import TopicNames

pytestmark = pytest.mark.kafka

_DEPTS = ["ho", "nhs"]


@pytest.fixture
def topics(broker: BrokerUnderTest) -> TopicNames:
    """Every department topic of ho and nhs under a prefix no other test uses."""
    names = TopicNames(prefix=f"t{uuid.uuid4().hex[:10]}")
    broker.create_topics(names.all_topics(_DEPTS))
    return names


@pytest.fixture
def codec() -> Codec:
    return Codec.default()


@pytest.fixture
async def client_factory(bootstrap: str, topics: TopicNames) -> AsyncIterator[ClientFactory]:
    """``await make(dept)``: a started client on this test's topics, stopped afterwards."""
    clients: list[DepartmentClient] = []

    async def make(dept: str) -> DepartmentClient:
        client = DepartmentClient(dept, bootstrap, topics=topics)
        clients.append(client)
        await client.start()
        return client

    yield make
    for client in clients:
        await client.stop()


def _reply_to(request: ExchangeRequest, **changes: Any) -> Reply:
    fields: dict[str, Any] = dict(
        request_id=request.request_id,
        requester=request.requester,
        provider=request.provider,
        agreement_id=request.agreement_id,
        purpose=request.purpose,
        outcome=ReplyOutcome.APPROVED,
        status=ResponseStatus.FOUND,
        record_json='{"immigration_status":"SETTLED"}',
        released_fields=["immigration_status"],
        policy_version="test",
        replied_at=datetime.now(UTC),
    )
    return Reply(**{**fields, **changes})


async def _to_inbox(
    producer: AIOKafkaProducer, topics: TopicNames, value: bytes, key: bytes
) -> None:
    """Write a routed request to ho's inbox as the gateway would, signed."""
    headers = signed_as_gateway(topics.inbox("ho"), value)
    await producer.send_and_wait(topics.inbox("ho"), value, key=key, headers=headers)


async def _fake_gateway(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    codec: Codec,
    replies_topic: str,
    expected: int,
    seen: list[tuple[bytes | None, ExchangeRequest]],
) -> None:
    """Answer ``expected`` requests: a stray reply for another id first, then the real one."""
    while len(seen) < expected:
        batch = await consumer.getmany(timeout_ms=200)
        for messages in batch.values():
            for message in messages:
                request = codec.decode(message.value, ExchangeRequest)
                seen.append((message.key, request))
                for reply, key in (
                    (_reply_to(request, request_id=uuid.uuid4().hex), b"stray"),
                    (_reply_to(request), message.key),
                ):
                    value = codec.encode(reply)
                    headers = signed_as_gateway(replies_topic, value)
                    await producer.send_and_wait(replies_topic, value, key=key, headers=headers)


async def test_request_is_published_keyed_by_id_and_resolves_with_the_matching_reply(
    client_factory: ClientFactory,
    topics: TopicNames,
    codec: Codec,
    consumer_factory: Callable[..., Awaitable[AIOKafkaConsumer]],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
) -> None:
    """request() sends an ExchangeRequest from its own dept on its own topic, keyed by request id,
    and returns the reply carrying that id, ignoring replies to other requests."""
    nhs = await client_factory("nhs")
    gateway_in = await consumer_factory(topics.requests("nhs"))
    gateway_out = await producer_factory()
    seen: list[tuple[bytes | None, ExchangeRequest]] = []
    gateway = asyncio.create_task(
        _fake_gateway(gateway_in, gateway_out, codec, topics.replies("nhs"), 1, seen)
    )

    reply = await nhs.request(
        "ho",
        "nhs-ho-status-check",
        "overseas-visitor-charging",
        {"person_id": "HO-000123", "date_of_birth": "1990-04-01"},
        ["immigration_status"],
        timeout=10,
    )
    await gateway

    key, request = seen[0]
    assert key == request.request_id.encode()
    assert len(request.request_id) == 32 and int(request.request_id, 16) >= 0
    assert (request.requester, request.provider) == ("nhs", "ho")
    assert (request.agreement_id, request.purpose) == (
        "nhs-ho-status-check",
        "overseas-visitor-charging",
    )
    assert request.query == {"person_id": "HO-000123", "date_of_birth": "1990-04-01"}
    assert request.wanted == ["immigration_status"]
    assert request.sent_at.tzinfo is not None
    assert reply.request_id == request.request_id
    assert reply.status is ResponseStatus.FOUND


async def test_request_many_pipelines_requests_and_keeps_their_order(
    client_factory: ClientFactory,
    topics: TopicNames,
    codec: Codec,
    consumer_factory: Callable[..., Awaitable[AIOKafkaConsumer]],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
) -> None:
    """request_many() has many requests in flight at once and returns replies in input order."""
    ho = await client_factory("ho")
    gateway_in = await consumer_factory(topics.requests("ho"))
    gateway_out = await producer_factory(linger_ms=5)
    seen: list[tuple[bytes | None, ExchangeRequest]] = []
    gateway = asyncio.create_task(
        _fake_gateway(gateway_in, gateway_out, codec, topics.replies("ho"), 40, seen)
    )
    requests = [
        ho.new_request(
            "dfe", "ho-dfe-school-census", "locate-immigration-offender", {"upn": str(i)}
        )
        for i in range(40)
    ]

    results = await ho.request_many(requests, timeout=15, max_in_flight=16)
    await gateway

    assert [r.request_id for r in results] == [r.request_id for r in requests]
    assert all(isinstance(r, Reply) for r in results)


async def test_request_without_reply_raises_exchange_timeout(
    client_factory: ClientFactory,
) -> None:
    """With no gateway answering, request() gives up after its timeout with ExchangeTimeout, a
    retriable GatewayError naming the request."""
    nhs = await client_factory("nhs")

    with pytest.raises(ExchangeTimeout) as caught:
        await nhs.request("ho", "nhs-ho-status-check", "overseas-visitor-charging", {}, timeout=0.3)

    assert isinstance(caught.value, GatewayError)
    assert caught.value.retriable and caught.value.code == "exchange_timeout"
    assert caught.value.request_id in str(caught.value)


async def test_request_many_reports_timeouts_as_values(client_factory: ClientFactory) -> None:
    """request_many() returns an ExchangeTimeout in place of each unanswered request."""
    nhs = await client_factory("nhs")
    requests = [nhs.new_request("ho", "a", "p", {}) for _ in range(3)]

    results = await nhs.request_many(requests, timeout=0.3)

    assert [type(r) for r in results] == [ExchangeTimeout] * 3
    assert [r.request_id for r in results] == [r.request_id for r in requests]


async def test_publish_sends_a_request_as_given(
    client_factory: ClientFactory,
    topics: TopicNames,
    codec: Codec,
    consumer_factory: Callable[..., Awaitable[AIOKafkaConsumer]],
) -> None:
    """publish() sends even a request that claims another requester, on the sender's own topic:
    it is the gateway's job to refuse it."""
    nhs = await client_factory("nhs")
    spoofed = nhs.new_request("ho", "rtw-ho-status-check", "right-to-work", {"person_id": "x"})
    spoofed = spoofed.model_copy(update={"requester": "rtw"})
    gateway_in = await consumer_factory(topics.requests("nhs"))

    await nhs.publish(spoofed)

    batch = await gateway_in.getmany(timeout_ms=5000)
    (message,) = [m for messages in batch.values() for m in messages]
    assert message.key == spoofed.request_id.encode()
    assert codec.decode(message.value, ExchangeRequest) == spoofed


async def test_stopped_client_refuses_requests(bootstrap: str, topics: TopicNames) -> None:
    """A client that is not started raises ClientClosedError instead of waiting in vain."""
    nhs = DepartmentClient("nhs", bootstrap, topics=topics)

    with pytest.raises(ClientClosedError):
        await nhs.request("ho", "a", "p", {}, timeout=1)


# --- serving an inbox ---------------------------------------------------------------------------


def _routed(query: dict[str, str], **changes: Any) -> RoutedRequest:
    fields: dict[str, Any] = dict(
        request_id=uuid.uuid4().hex,
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-status-check",
        purpose="overseas-visitor-charging",
        query=query,
        wanted=["immigration_status", "leave_expiry"],
        policy_version="v-test",
        issued_at=datetime(2026, 5, 1, 12, 30, 15, 123000, tzinfo=UTC),
        token="signed-by-the-gateway",
    )
    return RoutedRequest(**{**fields, **changes})


async def _responses(
    consumer: AIOKafkaConsumer, codec: Codec, count: int, within_s: float = 15.0
) -> list[tuple[bytes | None, ProviderResponse]]:
    found: list[tuple[bytes | None, ProviderResponse]] = []
    async with asyncio.timeout(within_s):
        while len(found) < count:
            batch = await consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                found += [(m.key, codec.decode(m.value, ProviderResponse)) for m in messages]
    return found


async def test_serve_answers_routed_requests_echoing_their_context(
    client_factory: ClientFactory,
    topics: TopicNames,
    codec: Codec,
    consumer_factory: Callable[..., Awaitable[AIOKafkaConsumer]],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
) -> None:
    """serve() answers each RoutedRequest with a ProviderResponse that echoes its context and token,
    carries the subject's record encoded with the provider's dataset schema (FOUND), says
    NOT_FOUND for an unknown subject, and skips an undecodable inbox message."""
    records = generate("ho", 20)
    ho = await client_factory("ho")
    stop = asyncio.Event()
    server = asyncio.create_task(
        ho.serve(answer_from_dataset(index_records(records, "person_id"), "person_id"), stop=stop)
    )
    known = _routed({"person_id": records[7]["person_id"], "date_of_birth": "1990-01-01"})
    unknown = _routed({"person_id": "HO-999999x"})
    inbox = await producer_factory()
    for value, message_key in [
        (b"not an envelope", b"junk"),
        (codec.encode(known), known.request_id.encode()),
        (codec.encode(unknown), unknown.request_id.encode()),
    ]:
        headers = signed_as_gateway(topics.inbox("ho"), value)
        await inbox.send_and_wait(topics.inbox("ho"), value, key=message_key, headers=headers)
    responses_topic = await consumer_factory(topics.responses("ho"))

    answers = {r.request_id: (key, r) for key, r in await _responses(responses_topic, codec, 2)}
    stop.set()
    assert await asyncio.wait_for(server, 10) == 2

    key, found = answers[known.request_id]
    assert key == known.request_id.encode()
    assert found.status is ResponseStatus.FOUND and found.error is None
    assert found.responder == "ho"
    for name in ("requester", "agreement_id", "purpose", "wanted", "issued_at", "token"):
        assert getattr(found, name) == getattr(known, name), name
    assert found.record is not None
    assert codec.decode_record_as(found.record, DATASET_BY_PROVIDER["ho"]) == records[7]
    _, missing = answers[unknown.request_id]
    assert missing.status is ResponseStatus.NOT_FOUND and missing.record is None
    assert missing.token == unknown.token


async def test_serve_commits_the_inbox_after_answering(
    client_factory: ClientFactory,
    group_timeouts: dict[str, int],
    topics: TopicNames,
    codec: Codec,
    consumer_factory: Callable[..., Awaitable[AIOKafkaConsumer]],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
) -> None:
    """A second serve() in the same group does not see requests the first one answered."""
    ho = await client_factory("ho")
    group = f"inbox-{uuid.uuid4().hex[:8]}"
    inbox = await producer_factory()
    first = _routed({"person_id": "HO-1"})
    await _to_inbox(inbox, topics, codec.encode(first), b"1")
    responses_topic = await consumer_factory(topics.responses("ho"))
    stop = asyncio.Event()
    server = asyncio.create_task(
        ho.serve(
            lambda r: Answer(ResponseStatus.NOT_FOUND),
            group_id=group,
            stop=stop,
            consumer_config=group_timeouts,
        )
    )
    await _responses(responses_topic, codec, 1)
    stop.set()
    assert await asyncio.wait_for(server, 10) == 1

    second = _routed({"person_id": "HO-2"})
    await _to_inbox(inbox, topics, codec.encode(second), b"2")
    stop = asyncio.Event()

    async def async_handler(routed: RoutedRequest) -> Answer:
        return Answer(ResponseStatus.NOT_FOUND)

    server = asyncio.create_task(
        ho.serve(async_handler, group_id=group, stop=stop, consumer_config=group_timeouts)
    )
    (only,) = await _responses(responses_topic, codec, 1)
    stop.set()
    assert await asyncio.wait_for(server, 10) == 1
    assert only[1].request_id == second.request_id


async def test_serve_turns_a_failing_handler_or_unfit_record_into_error_responses(
    client_factory: ClientFactory,
    topics: TopicNames,
    codec: Codec,
    consumer_factory: Callable[..., Awaitable[AIOKafkaConsumer]],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
) -> None:
    """A handler that raises, or returns a record its dataset schema rejects, yields an ERROR
    response whose text names no personal data; the inbox keeps going."""
    ho = await client_factory("ho")
    boom, unfit = _routed({"person_id": "secret-value"}), _routed({"person_id": "HO-2"})

    def handler(routed: RoutedRequest) -> Answer:
        if routed.request_id == boom.request_id:
            raise RuntimeError(f"lookup failed for {routed.query['person_id']}")
        return Answer(ResponseStatus.FOUND, {"person_id": "HO-2"})

    stop = asyncio.Event()
    server = asyncio.create_task(ho.serve(handler, stop=stop))
    inbox = await producer_factory()
    for routed in (boom, unfit):
        await _to_inbox(inbox, topics, codec.encode(routed), b"k")
    responses_topic = await consumer_factory(topics.responses("ho"))

    answers = {r.request_id: r for _, r in await _responses(responses_topic, codec, 2)}
    stop.set()
    await asyncio.wait_for(server, 10)

    assert answers[boom.request_id].status is ResponseStatus.ERROR
    assert "secret-value" not in (answers[boom.request_id].error or "")
    assert answers[unfit.request_id].status is ResponseStatus.ERROR
    assert answers[unfit.request_id].record is None
