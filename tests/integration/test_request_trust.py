"""What a request may claim, end to end on the embedded broker: identity that only the gateway
can vouch for, and ids that keep personal data out of the audit log."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from factories_support import ClientFactory, ConsumerFactory, ProducerFactory, ProviderFactory
from settle_support import gateway_committed_past, read_to_end

from gateway.departments import (
    ExchangeTimeout,
    answer_from_dataset,
    index_records,
)
from gateway.envelope.codec import Codec
from gateway.envelope.models import (
    AuditOutcome,
    AuditRecord,
    AuditStage,
    CappedRequest,
    DeadLetter,
    ExchangeRequest,
    Reply,
    ReplyOutcome,
    RoutedRequest,
)
from gateway.synthetic.datasets import generate
from gateway.transport.topics import TopicNames

CODEC = Codec.default()
PUPILS = generate("dfe", 10)
DFE = index_records(PUPILS, "upn")


async def read_until(
    consumer_factory: ConsumerFactory,
    topic: str,
    found: Callable[[list[bytes]], bool],
    within: float = 10.0,
) -> list[bytes]:
    """Values on ``topic`` from the start, until ``found(values)`` holds or time runs out."""
    consumer = await consumer_factory(topic)
    values: list[bytes] = []
    deadline = asyncio.get_running_loop().time() + within
    while not found(values) and asyncio.get_running_loop().time() < deadline:
        batch = await consumer.getmany(timeout_ms=100)
        values.extend(r.value for records in batch.values() for r in records)
    return values


def audit_records(values: list[bytes]) -> list[AuditRecord]:
    header = CODEC.registry.get("dx.gateway.AuditRecord").header
    return [CODEC.decode(v, AuditRecord) for v in values if v.startswith(header)]


async def test_a_forged_capped_request_claiming_the_home_office_is_refused_and_audited(
    provider: ProviderFactory,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
    topics: TopicNames,
) -> None:
    seen = await provider("dfe", answer_from_dataset(DFE, "upn"))
    request_id = f"forged-{uuid.uuid4().hex[:8]}"
    census = ExchangeRequest(
        request_id=request_id,
        requester="ho",
        provider="dfe",
        agreement_id="ho-dfe-school-census",
        purpose="locate-immigration-offender",
        query={"upn": PUPILS[0]["upn"]},
        sent_at=datetime.now(UTC),
    )
    forged = CappedRequest(  # what any client allowed to write to the capped topic can send
        sender="ho",
        input_topic=topics.requests("ho"),
        input_partition=0,
        input_offset=987_654,
        request=CODEC.encode(census),
        mac=os.urandom(32),
    )
    producer = await producer_factory()
    meta = await producer.send_and_wait(
        topics.capped, CODEC.encode(forged), key=b"ho-dfe-school-census|x|ho"
    )

    def refused(letters: list[bytes]) -> bool:
        return any(
            (d.input_topic, d.input_offset) == (topics.capped, meta.offset)
            for d in (CODEC.decode(v, DeadLetter) for v in letters)
        )

    letters = await read_until(consumer_factory, topics.deadletter, refused)
    (letter,) = [
        d
        for d in (CODEC.decode(v, DeadLetter) for v in letters)
        if (d.input_topic, d.input_partition, d.input_offset)
        == (topics.capped, meta.partition, meta.offset)
    ]
    assert letter.error_code == "capped.unauthenticated"

    def audited(values: list[bytes]) -> bool:
        return any(r.input_topic == topics.capped for r in audit_records(values))

    records = audit_records(await read_until(consumer_factory, topics.audit, audited))
    (record,) = [r for r in records if r.input_topic == topics.capped]
    assert (record.stage, record.outcome) == (AuditStage.INPUT, AuditOutcome.DEAD_LETTERED)
    assert [r.code for r in record.reasons] == ["capped.unauthenticated"]
    coordinates = (meta.partition, meta.offset)
    assert (record.input_partition, record.input_offset) == coordinates
    assert not [r for r in records if r.request_id == request_id]  # never decided
    await gateway_committed_past(consumer_factory, topics, topics.capped, *coordinates)
    routed = await read_to_end(consumer_factory, topics.inbox("dfe"))
    assert request_id not in [CODEC.decode(v, RoutedRequest).request_id for v in routed]
    assert request_id not in [r.request_id for r in seen]  # the pupil's school never asked
    replies = await read_to_end(consumer_factory, topics.replies("ho"))
    assert request_id not in [CODEC.decode(v, Reply).request_id for v in replies]


PERSONAL = "Jane Doe 1970-01-01 NHS 9990001234 HIV+"


def unchecked_request(request_id: str, **overrides: Any) -> ExchangeRequest:
    """A request the envelope would refuse to build: sent as a client without the model's
    checks would send it (valid Avro all the same)."""
    fields: dict[str, Any] = {
        "request_id": request_id,
        "requester": "nhs",
        "provider": "ho",
        "agreement_id": "nhs-ho-status-check",
        "purpose": "overseas-visitor-charging",
        "query": {"person_id": "HO-000001"},
        "wanted": [],
        "sent_at": datetime.now(UTC).replace(microsecond=0),
    }
    fields.update(overrides)
    return ExchangeRequest.model_construct(**fields)


@pytest.mark.parametrize(
    "fault",
    [
        {"wanted": ["address postcode"]},
        {"wanted": [f"field_{i}" for i in range(257)]},
        {"purpose": PERSONAL},
        {"agreement_id": PERSONAL},
    ],
    ids=["field-path", "too-many-fields", "purpose", "agreement-id"],
)
async def test_a_malformed_request_gets_a_prompt_denial_instead_of_a_timeout(
    department: ClientFactory,
    consumer_factory: ConsumerFactory,
    topics: TopicNames,
    fault: dict[str, Any],
) -> None:
    nhs = await department("nhs")
    request_id = f"bad-{uuid.uuid4().hex[:8]}"
    started = asyncio.get_running_loop().time()

    reply = await nhs.exchange(unchecked_request(request_id, **fault), timeout=8)

    assert asyncio.get_running_loop().time() - started < 5
    assert reply.outcome is ReplyOutcome.DENIED and reply.request_id == request_id
    assert {r.code for r in reply.reasons} == {"request.malformed"}
    assert all(PERSONAL not in r.message for r in reply.reasons)

    def audited(values: list[bytes]) -> bool:
        return any(r.request_id == request_id for r in audit_records(values))

    values = await read_until(consumer_factory, topics.audit, audited)
    (record,) = [r for r in audit_records(values) if r.request_id == request_id]
    assert (record.stage, record.outcome) == (AuditStage.INPUT, AuditOutcome.DEAD_LETTERED)
    assert record.requester == "nhs" and record.reasons == reply.reasons
    text = b"".join(values).decode("utf-8", errors="replace")
    for part in (PERSONAL, *PERSONAL.split()):
        assert part not in text

    def dead_lettered(letters: list[bytes]) -> bool:
        return any(CODEC.decode(v, DeadLetter).key == request_id.encode() for v in letters)

    letters = await read_until(consumer_factory, topics.deadletter, dead_lettered)
    assert dead_lettered(letters)


async def test_a_malformed_request_whose_id_cannot_be_trusted_is_only_dead_lettered(
    department: ClientFactory,
    consumer_factory: ConsumerFactory,
    topics: TopicNames,
) -> None:
    nhs = await department("nhs")
    request_id = f"bad {PERSONAL}"

    with pytest.raises(ExchangeTimeout):
        await nhs.exchange(unchecked_request(request_id), timeout=1.5)

    def dead_lettered(letters: list[bytes]) -> bool:
        return any(CODEC.decode(v, DeadLetter).key == request_id.encode() for v in letters)

    assert dead_lettered(await read_until(consumer_factory, topics.deadletter, dead_lettered))
    replies = await read_until(consumer_factory, topics.replies("nhs"), lambda _: False, 0.3)
    assert request_id not in [CODEC.decode(v, Reply).request_id for v in replies]
