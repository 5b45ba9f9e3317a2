"""The faust reference departments, running in-process on the embedded broker."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from consumers.departments import app_id, required_topics, run_departments
from gateway.embedded.broker import EmbeddedBroker
from gateway.envelope.codec import Codec
from gateway.envelope.datasets import DATASET_BY_PROVIDER
from gateway.envelope.models import ProviderResponse, ResponseStatus, RoutedRequest
from gateway.envelope.signature import MessageSigner
from gateway.synthetic.datasets import generate
from gateway.testing import signed_as_gateway
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
    number (context and token echoed), NOT_FOUND for an unknown one; it skips signed junk."""
    topics = TopicNames(prefix=f"t{uuid.uuid4().hex[:10]}")
    broker.create_topics(topics.all_topics(["nhs"]))
    broker.create_topics(required_topics([app_id("nhs", topics)]), partitions=1)
    codec = Codec.default()
    records = generate("nhs", 50)
    known = _routed("nhs", "nhs_number", records[3]["nhs_number"])
    unknown = _routed("nhs", "nhs_number", "9990000000")
    inbox = await producer_factory()
    junk_headers = signed_as_gateway(topics.inbox("nhs"), b"junk")
    await inbox.send_and_wait(topics.inbox("nhs"), b"junk", key=b"junk", headers=junk_headers)
    for routed in (known, unknown):
        value = codec.encode(routed)
        await inbox.send_and_wait(
            topics.inbox("nhs"),
            value,
            key=routed.request_id.encode(),
            headers=signed_as_gateway(topics.inbox("nhs"), value),
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


async def test_faust_department_answers_only_what_the_gateway_signed_for_its_inbox(
    broker: EmbeddedBroker,
    bootstrap: str,
    consumer_factory: Callable[..., Awaitable[AIOKafkaConsumer]],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unsigned, forged, altered and copied-from-another-inbox requests are logged, counted and
    never answered; the one genuinely signed for this inbox is answered."""
    topics = TopicNames(prefix=f"t{uuid.uuid4().hex[:10]}")
    broker.create_topics(topics.all_topics(["nhs"]))
    broker.create_topics(required_topics([app_id("nhs", topics)]), partitions=1)
    codec = Codec.default()
    records = generate("nhs", 50)
    inbox = topics.inbox("nhs")
    forger = MessageSigner(Ed25519PrivateKey.generate())

    def routed() -> tuple[RoutedRequest, bytes]:
        request = _routed("nhs", "nhs_number", records[3]["nhs_number"])
        return request, codec.encode(request)

    attempts: list[tuple[RoutedRequest, bytes, list[tuple[str, bytes]] | None]] = []
    unsigned, value = routed()
    attempts.append((unsigned, value, None))
    forged, value = routed()
    attempts.append((forged, value, forger.headers(inbox, value)))
    altered, value = routed()
    tampered = codec.encode(altered.model_copy(update={"wanted": ["nhs_number", "address"]}))
    attempts.append((altered, tampered, signed_as_gateway(inbox, value)))
    copied, value = routed()
    attempts.append((copied, value, signed_as_gateway(topics.inbox("ho"), value)))
    genuine, value = routed()
    attempts.append((genuine, value, signed_as_gateway(inbox, value)))
    producer = await producer_factory()
    for request, value, headers in attempts:  # one partition: answered in this order
        await producer.send_and_wait(
            inbox, value, key=request.request_id.encode(), headers=headers, partition=0
        )
    responses = await consumer_factory(topics.responses("nhs"))

    stop, ready = asyncio.Event(), asyncio.Event()
    service = asyncio.create_task(
        run_departments(bootstrap, ["nhs"], stop, topics=topics, dataset_size=50, ready=ready)
    )
    answered: list[str] = []
    try:
        async with asyncio.timeout(30):
            await ready.wait()
            while genuine.request_id not in answered:  # the last one: the others came first
                batch = await responses.getmany(timeout_ms=200)
                answered += [m.key.decode() for ms in batch.values() for m in ms]
        batch = await responses.getmany(timeout_ms=500)  # nothing else arrives
        answered += [m.key.decode() for ms in batch.values() for m in ms]
    finally:
        stop.set()
        counts = await asyncio.wait_for(service, 30)

    assert answered == [genuine.request_id]
    assert counts == {"nhs": 1}
    problems = [r.getMessage() for r in caplog.records if "not from the gateway" in r.getMessage()]
    assert len(problems) == 4
    assert "unsigned" in problems[0]
    assert "not the gateway's" in problems[1]
    assert all("does not verify" in p for p in problems[2:])


async def test_gateway_departments_answers_only_what_the_key_given_by_gateway_key_signed(
    broker: EmbeddedBroker,
    bootstrap: str,
    consumer_factory: Callable[..., Awaitable[AIOKafkaConsumer]],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
    tmp_path: Path,
) -> None:
    """`gateway departments --gateway-key PEM` trusts that key instead of the shipped one: a
    request signed with it is answered, one signed with the development key is not."""
    topics = TopicNames(prefix=f"t{uuid.uuid4().hex[:10]}")
    broker.create_topics(topics.all_topics(["nhs"]))
    broker.create_topics(required_topics([app_id("nhs", topics)]), partitions=1)
    codec = Codec.default()
    records = generate("nhs", 50)
    inbox = topics.inbox("nhs")
    gateway_key = Ed25519PrivateKey.generate()
    pem = tmp_path / "gateway-message-signing.pub"
    pem.write_bytes(
        gateway_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    development = _routed("nhs", "nhs_number", records[3]["nhs_number"])
    genuine = _routed("nhs", "nhs_number", records[3]["nhs_number"])
    producer = await producer_factory()
    for request, signer in (
        (development, signed_as_gateway),
        (genuine, MessageSigner(gateway_key).headers),
    ):  # one partition: answered in this order
        value = codec.encode(request)
        await producer.send_and_wait(
            inbox, value, key=request.request_id.encode(), headers=signer(inbox, value), partition=0
        )
    responses = await consumer_factory(topics.responses("nhs"))

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "departments", "--bootstrap", bootstrap,
        "--prefix", topics.prefix, "--departments", "nhs", "--dataset-size", "50",
        "--gateway-key", str(pem),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    answered: list[str] = []
    try:
        async with asyncio.timeout(60):
            while genuine.request_id not in answered:
                batch = await responses.getmany(timeout_ms=200)
                answered += [m.key.decode() for ms in batch.values() for m in ms]
        batch = await responses.getmany(timeout_ms=500)  # nothing else arrives
        answered += [m.key.decode() for ms in batch.values() for m in ms]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)

    assert answered == [genuine.request_id]
    assert process.returncode == 0, err.decode()
    assert out.decode().splitlines() == ["nhs: answered 1"]
    assert b"ignored a message not from the gateway" in err
