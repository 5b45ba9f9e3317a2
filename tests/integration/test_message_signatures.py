"""Departments trust only what the gateway signed: a reply or routed request written straight to
their topics, or a genuine one copied from another department's topic, is ignored, and the
genuine message is still received."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from factories_support import ClientFactory, ConsumerFactory, ProducerFactory, ProviderFactory

from gateway.departments import (
    Answer,
    answer_from_dataset,
    index_records,
)
from gateway.envelope.codec import Codec
from gateway.envelope.models import (
    ExchangeRequest,
    Reply,
    ReplyOutcome,
    ResponseStatus,
    RoutedRequest,
)
from gateway.synthetic.datasets import generate
from gateway.transport.topics import TopicNames

CODEC = Codec.default()
HO_PEOPLE = generate("ho", 20)
PERSON = HO_PEOPLE[3]
ANSWER = answer_from_dataset(index_records(HO_PEOPLE, "person_id"), "person_id")
AGREEMENT, PURPOSE = "nhs-ho-status-check", "overseas-visitor-charging"
QUERY = {"person_id": PERSON["person_id"], "surname": PERSON["surname"]}


async def test_a_reply_written_straight_to_the_replies_topic_is_ignored_for_the_genuine_one(
    department: ClientFactory,
    provider: ProviderFactory,
    producer_factory: ProducerFactory,
    topics: TopicNames,
) -> None:
    nhs = await department("nhs")
    producer = await producer_factory()
    request = nhs.new_request("ho", AGREEMENT, PURPOSE, QUERY)

    async def forge_first(routed: RoutedRequest) -> Answer:
        """Before answering, someone writes a reply of their own to the requester's topic."""
        if routed.request_id != request.request_id:  # the inbox's earlier requests
            return ANSWER(routed)
        forged = Reply(
            request_id=routed.request_id,
            requester="nhs",
            provider="ho",
            agreement_id=routed.agreement_id,
            purpose=routed.purpose,
            outcome=ReplyOutcome.APPROVED,
            status=ResponseStatus.FOUND,
            record_json='{"immigration_status":"FORGED"}',
            policy_version="forged",
            replied_at=datetime.now(UTC),
        )
        key = routed.request_id.encode()  # the genuine reply's partition, ahead of it
        await producer.send_and_wait(topics.replies("nhs"), CODEC.encode(forged), key=key)
        return ANSWER(routed)

    await provider("ho", forge_first)

    reply = await nhs.exchange(request)

    assert reply.policy_version != "forged"
    status = json.loads(reply.record_json or "{}")["immigration_status"]
    assert status == PERSON["immigration_status"]
    assert nhs.rejected == 1


async def test_a_routed_request_written_straight_to_an_inbox_is_not_served(
    department: ClientFactory,
    provider: ProviderFactory,
    producer_factory: ProducerFactory,
    topics: TopicNames,
) -> None:
    seen = await provider("ho", ANSWER)
    nhs = await department("nhs")
    request = nhs.new_request("ho", AGREEMENT, PURPOSE, QUERY)
    forged = RoutedRequest(
        request_id=f"forged-{request.request_id}",
        requester="nhs",
        provider="ho",
        agreement_id=AGREEMENT,
        purpose=PURPOSE,
        query=QUERY,
        wanted=["address.line1", "address.postcode"],
        policy_version="forged",
        issued_at=datetime.now(UTC),
        token="x" * 43,
    )
    producer = await producer_factory()
    key = request.request_id.encode()  # the genuine routed request's partition, ahead of it
    await producer.send_and_wait(topics.inbox("ho"), CODEC.encode(forged), key=key)

    reply = await nhs.exchange(request)

    assert reply.status is ResponseStatus.FOUND
    served = [r.request_id for r in seen]
    assert request.request_id in served
    assert forged.request_id not in served


async def test_a_genuine_reply_copied_from_another_departments_topic_is_rejected(
    department: ClientFactory,
    provider: ProviderFactory,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
    topics: TopicNames,
) -> None:
    """DfE gets a signed denial for a request id that the NHS awaits, and copies it, headers
    and all, onto the NHS replies topic: signed for DfE's topic, it does not verify there."""
    nhs, dfe = await department("nhs"), await department("dfe")
    producer = await producer_factory()
    dfe_replies = await consumer_factory(topics.replies("dfe"))
    request = nhs.new_request("ho", AGREEMENT, PURPOSE, QUERY)

    async def copy_first(routed: RoutedRequest) -> Answer:
        if routed.request_id != request.request_id:  # the inbox's earlier requests
            return ANSWER(routed)
        spoof = ExchangeRequest(
            request_id=routed.request_id,
            requester="nhs",
            provider="ho",
            agreement_id=AGREEMENT,
            purpose=PURPOSE,
            query=QUERY,
            sent_at=datetime.now(UTC),
        )
        denial = await dfe.exchange(spoof)
        assert denial.outcome is ReplyOutcome.DENIED
        copied = None
        while copied is None:
            batch = await dfe_replies.getmany(timeout_ms=100)
            for record in (r for records in batch.values() for r in records):
                if CODEC.decode(record.value, Reply).request_id == routed.request_id:
                    copied = record
        await producer.send_and_wait(
            topics.replies("nhs"), copied.value, key=copied.key, headers=list(copied.headers)
        )
        return ANSWER(routed)

    await provider("ho", copy_first)

    reply = await nhs.exchange(request)

    assert reply.outcome is not ReplyOutcome.DENIED
    assert reply.status is ResponseStatus.FOUND
    assert nhs.rejected == 1
