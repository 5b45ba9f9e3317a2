"""The gateway end to end on a Kafka-protocol broker: departments publish, the gateway decides,
providers answer, requesters receive redacted replies, and every step is audited."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from factories_support import ClientFactory, ConsumerFactory, ProducerFactory, ProviderFactory
from settle_support import gateway_committed_past, read_to_end

from gateway.departments import (
    Answer,
    DepartmentClient,
    answer_from_dataset,
    index_records,
)
from gateway.envelope.codec import Codec
from gateway.envelope.models import (
    AuditOutcome,
    AuditRecord,
    AuditStage,
    DeadLetter,
    ExchangeRequest,
    ProviderResponse,
    Reply,
    ReplyOutcome,
    ResponseStatus,
    RoutedRequest,
)
from gateway.synthetic.datasets import generate
from gateway.testing import BrokerUnderTest, fresh_topics, gateway_runner
from gateway.transport.topics import TopicNames

CODEC = Codec.default()
HO_PEOPLE = generate("ho", 20)
HO = index_records(HO_PEOPLE, "person_id")
PERSON = HO_PEOPLE[0]


async def read_all(
    consumer_factory: ConsumerFactory,
    topic: str,
    *,
    until: Callable[[list[bytes]], bool],
    within: float = 10.0,
) -> list[bytes]:
    """Values on ``topic`` from the start, read until ``until(values)`` holds or time runs out."""
    consumer: AIOKafkaConsumer = await consumer_factory(topic)
    values: list[bytes] = []
    deadline = asyncio.get_running_loop().time() + within
    while not until(values) and asyncio.get_running_loop().time() < deadline:
        batch = await consumer.getmany(timeout_ms=100)
        values.extend(r.value for records in batch.values() for r in records)
    return values


def audit_records(values: list[bytes]) -> list[AuditRecord]:
    """The audit records among audit topic messages (which also carry signed checkpoints)."""
    header = CODEC.registry.get("dx.gateway.AuditRecord").header
    return [CODEC.decode(v, AuditRecord) for v in values if v.startswith(header)]


async def audit_for(
    consumer_factory: ConsumerFactory, topics: TopicNames, request_id: str, count: int = 1
) -> list[AuditRecord]:
    def mine(values: list[bytes]) -> list[AuditRecord]:
        return [r for r in audit_records(values) if r.request_id == request_id]

    values = await read_all(consumer_factory, topics.audit, until=lambda vs: len(mine(vs)) >= count)
    return mine(values)


def status_query(person: dict[str, Any] = PERSON) -> dict[str, str]:
    return {"person_id": person["person_id"], "surname": person["surname"]}


async def ask_status(department: ClientFactory, **overrides: Any) -> Reply:
    nhs = await department("nhs")
    fields: dict[str, Any] = {
        "provider": "ho",
        "agreement_id": "nhs-ho-status-check",
        "purpose": "overseas-visitor-charging",
        "query": status_query(),
    }
    fields.update(overrides)
    return await nhs.request(**fields)


# --- approved, minimised, redacted ----------------------------------------------------------


async def test_an_approved_request_reaches_the_provider_and_the_reply_reaches_the_requester(
    department: ClientFactory,
    provider: ProviderFactory,
    consumer_factory: ConsumerFactory,
    topics: TopicNames,
) -> None:
    seen = await provider("ho", answer_from_dataset(HO, "person_id"))

    reply = await ask_status(department)

    assert reply.status is ResponseStatus.FOUND
    assert reply.outcome in (ReplyOutcome.APPROVED, ReplyOutcome.REDACTED)
    assert (
        json.loads(reply.record_json or "{}")["immigration_status"] == PERSON["immigration_status"]
    )
    assert [r.request_id for r in seen].count(reply.request_id) == 1
    stages = [r.stage for r in await audit_for(consumer_factory, topics, reply.request_id, 2)]
    assert stages == [AuditStage.REQUEST, AuditStage.RESPONSE]


async def test_query_fields_the_purpose_does_not_allow_never_reach_the_provider(
    department: ClientFactory, provider: ProviderFactory
) -> None:
    seen = await provider("ho", answer_from_dataset(HO, "person_id"))

    reply = await ask_status(
        department, query={**status_query(), "nhs_number": "9990001234", "religion": "none"}
    )

    (routed,) = [r for r in seen if r.request_id == reply.request_id]
    assert set(routed.query) == {"person_id", "surname"}
    assert reply.removed_query_fields == []  # an approval does not repeat them: the audit does


async def test_the_response_is_redacted_to_the_fields_the_purpose_allows(
    department: ClientFactory,
    provider: ProviderFactory,
    consumer_factory: ConsumerFactory,
    topics: TopicNames,
) -> None:
    await provider("ho", answer_from_dataset(HO, "person_id"))

    reply = await ask_status(department)

    released = json.loads(reply.record_json or "{}")
    assert set(released) <= {"immigration_status", "leave_expiry", "conditions"}
    assert "address" not in released and "surname" not in released
    assert reply.outcome is ReplyOutcome.REDACTED
    assert "address.postcode" in reply.withheld_fields
    (_, response_audit) = await audit_for(consumer_factory, topics, reply.request_id, 2)
    assert response_audit.outcome is AuditOutcome.REDACTED
    assert "address.postcode" in response_audit.fields_withheld


async def test_a_right_to_work_check_releases_only_a_yes_or_no(
    department: ClientFactory, provider: ProviderFactory
) -> None:
    await provider("ho", answer_from_dataset(HO, "person_id"))
    rtw = await department("rtw")

    reply = await rtw.request(
        "ho",
        "rtw-ho-status-check",
        "right-to-work",
        {"person_id": PERSON["person_id"], "date_of_birth": PERSON["date_of_birth"].isoformat()},
    )

    assert json.loads(reply.record_json or "{}") == {
        "conditions": {"right_to_work": PERSON["conditions"]["right_to_work"]}
    }


# --- denials ----------------------------------------------------------------------------------


async def test_a_purpose_the_agreement_does_not_name_is_denied(department: ClientFactory) -> None:
    reply = await ask_status(department, purpose="debt-collection")

    assert reply.outcome is ReplyOutcome.DENIED
    assert [r.code for r in reply.reasons] == ["purpose.not_allowed"]


async def test_a_request_under_an_ended_pilot_is_denied_as_expired(
    department: ClientFactory,
) -> None:
    ho = await department("ho")

    reply = await ho.request(
        "dwp", "dwp-ho-interview-pilot", "arrange-interview", {"nino": "QQ123456C"}
    )

    assert reply.outcome is ReplyOutcome.DENIED
    codes = {r.code for r in reply.reasons}
    assert "agreement.expired" in codes


async def test_a_prohibited_purpose_is_denied_with_the_agreements_stated_reason(
    department: ClientFactory,
) -> None:
    ho = await department("ho")

    reply = await ho.request(
        "nhs",
        "ho-nhs-tracing-withdrawn",
        "immigration-enforcement-tracing",
        {"nhs_number": "9990001234"},
    )

    assert reply.outcome is ReplyOutcome.DENIED
    prohibited = [r for r in reply.reasons if r.code == "purpose.prohibited"]
    assert prohibited and "trac" in prohibited[0].message.lower()


async def test_a_department_cannot_request_as_another_and_the_attempt_is_audited(
    department: ClientFactory,
    provider: ProviderFactory,
    consumer_factory: ConsumerFactory,
    topics: TopicNames,
) -> None:
    seen = await provider("ho", answer_from_dataset(HO, "person_id"))
    dfe = await department("dfe")
    spoofed = ExchangeRequest(
        request_id="spoof-1",
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-status-check",
        purpose="overseas-visitor-charging",
        query=status_query(),
        sent_at=datetime.now(UTC),
    )

    reply = await dfe.exchange(spoofed)  # the denial comes back to DfE, the real sender

    assert reply.outcome is ReplyOutcome.DENIED
    assert "identity.requester_mismatch" in {r.code for r in reply.reasons}
    (record,) = await audit_for(consumer_factory, topics, "spoof-1")
    assert record.outcome is AuditOutcome.DENIED
    assert record.input_topic == topics.requests("dfe")
    await gateway_committed_past(
        consumer_factory, topics, record.input_topic, record.input_partition, record.input_offset
    )
    routed = await read_to_end(consumer_factory, topics.inbox("ho"))
    assert "spoof-1" not in [CODEC.decode(v, RoutedRequest).request_id for v in routed]
    assert "spoof-1" not in [r.request_id for r in seen]


# --- responses that must not be released ------------------------------------------------------


async def _send_response(
    producer_factory: ProducerFactory, topic: str, response: ProviderResponse
) -> None:
    producer = await producer_factory()
    await producer.send_and_wait(topic, CODEC.encode(response), key=response.request_id.encode())


async def test_forged_and_unsolicited_responses_are_blocked_and_audited(
    department: ClientFactory,
    provider: ProviderFactory,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
    topics: TopicNames,
) -> None:
    seen: list[RoutedRequest] = []

    def capture_without_answering(routed: RoutedRequest) -> Answer:
        seen.append(routed)
        return Answer(ResponseStatus.ERROR, error="held back by the test")

    await provider("ho", capture_without_answering)
    held_back = await ask_status(department)
    (routed,) = [r for r in seen if r.request_id == held_back.request_id]
    base = dict(
        responder="ho",
        requester="nhs",
        agreement_id=routed.agreement_id,
        purpose=routed.purpose,
        wanted=routed.wanted,
        issued_at=routed.issued_at,
        status=ResponseStatus.FOUND,
        record=CODEC.encode_record("dx.datasets.ImmigrationStatus", PERSON),
        sent_at=datetime.now(UTC),
    )
    forged = ProviderResponse(request_id="forged-1", token=routed.token, **base)
    unsolicited = ProviderResponse(request_id="unsolicited-1", token="x" * 43, **base)

    await _send_response(producer_factory, topics.responses("ho"), forged)
    await _send_response(producer_factory, topics.responses("ho"), unsolicited)

    for request_id in ("forged-1", "unsolicited-1"):
        (record,) = await audit_for(consumer_factory, topics, request_id)
        assert record.outcome is AuditOutcome.BLOCKED
        assert record.reasons[0].code == "token.invalid"
    replies = await read_all(
        consumer_factory, topics.replies("nhs"), until=lambda v: False, within=0.5
    )
    ids = {CODEC.decode(v, Reply).request_id for v in replies}
    assert not ids & {"forged-1", "unsolicited-1"}


# --- bad input, redelivery --------------------------------------------------------------------


async def test_malformed_bytes_go_to_the_dead_letter_topic_and_the_gateway_keeps_working(
    department: ClientFactory,
    provider: ProviderFactory,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
    topics: TopicNames,
) -> None:
    producer = await producer_factory()
    await producer.send_and_wait(topics.requests("nhs"), b"not avro at all", key=b"bad-1")

    letters = await read_all(
        consumer_factory,
        topics.deadletter,
        until=lambda vs: any(CODEC.decode(v, DeadLetter).key == b"bad-1" for v in vs),
    )
    letter = next(
        d for d in map(lambda v: CODEC.decode(v, DeadLetter), letters) if d.key == b"bad-1"
    )
    assert letter.error_code == "undecodable"
    assert letter.payload == b"not avro at all"
    assert letter.input_topic == topics.requests("nhs")
    audit = await read_all(
        consumer_factory,
        topics.audit,
        until=lambda vs: any(r.stage is AuditStage.INPUT for r in audit_records(vs)),
    )
    assert any(r.outcome is AuditOutcome.DEAD_LETTERED for r in audit_records(audit))

    await provider("ho", answer_from_dataset(HO, "person_id"))
    assert (await ask_status(department)).status is ResponseStatus.FOUND


async def test_a_redelivered_request_is_answered_once(
    department: ClientFactory,
    provider: ProviderFactory,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
    topics: TopicNames,
) -> None:
    await provider("ho", answer_from_dataset(HO, "person_id"))
    request = ExchangeRequest(
        request_id="twice-1",
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-status-check",
        purpose="overseas-visitor-charging",
        query=status_query(),
        sent_at=datetime.now(UTC),
    )
    producer = await producer_factory()
    sent = [
        await producer.send_and_wait(topics.requests("nhs"), CODEC.encode(request), key=b"twice-1")
        for _ in range(2)
    ]

    records = await audit_for(consumer_factory, topics, "twice-1", count=3)
    outcomes = sorted(r.outcome.value for r in records)
    assert outcomes == ["APPROVED", "DUPLICATE", "REDACTED"]
    for meta in sent:  # both decided, and what each decision wrote acknowledged
        await gateway_committed_past(
            consumer_factory, topics, meta.topic, meta.partition, meta.offset
        )
    routed = await read_to_end(consumer_factory, topics.inbox("ho"))
    assert [CODEC.decode(v, RoutedRequest).request_id for v in routed].count("twice-1") == 1

    def replied(values: list[bytes]) -> bool:
        return "twice-1" in [CODEC.decode(v, Reply).request_id for v in values]

    await read_all(consumer_factory, topics.replies("nhs"), until=replied)
    replies = await read_to_end(consumer_factory, topics.replies("nhs"))
    assert [CODEC.decode(v, Reply).request_id for v in replies].count("twice-1") == 1


# --- fail closed, scaling out -----------------------------------------------------------------


async def test_nothing_is_routed_while_the_audit_topic_cannot_be_written(
    broker: BrokerUnderTest,
    bootstrap: str,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    topics = fresh_topics(broker, partitions=1)
    broker.block_writes(topics.audit)
    runner = gateway_runner(bootstrap, topics)
    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))
    try:
        request = ExchangeRequest(
            request_id="closed-1",
            requester="nhs",
            provider="ho",
            agreement_id="nhs-ho-status-check",
            purpose="overseas-visitor-charging",
            query=status_query(),
            sent_at=datetime.now(UTC),
        )
        producer = await producer_factory()
        await producer.send_and_wait(topics.requests("nhs"), CODEC.encode(request), key=b"c")
        await _eventually(lambda: runner.stats.audit_paused, within=15)

        inbox = await read_all(
            consumer_factory, topics.inbox("ho"), until=lambda v: False, within=1.0
        )
        assert inbox == []

        broker.allow_writes(topics.audit)  # the audit log comes back
        inbox = await read_all(consumer_factory, topics.inbox("ho"), until=bool, within=15)
        assert [CODEC.decode(v, RoutedRequest).request_id for v in inbox] == ["closed-1"]
        assert not runner.stats.audit_paused
    finally:
        stop.set()
        await task
        await runner.stop()


async def test_two_gateway_shards_share_the_partitions_and_answer_each_request_once(
    broker: BrokerUnderTest,
    bootstrap: str,
    consumer_factory: ConsumerFactory,
) -> None:
    """Static shards, not a rebalancing group: the embedded broker cannot complete a group
    rebalance with two members (see README); tests/real_kafka covers group-managed sharing."""
    topics = fresh_topics(broker, partitions=4)
    runners = [
        gateway_runner(bootstrap, topics, group="shared", instance=f"gw-{i}", shard=(i, 2))
        for i in (0, 1)
    ]
    stop = asyncio.Event()
    tasks = []
    try:
        for runner in runners:
            await runner.start()
            tasks.append(asyncio.create_task(runner.run(stop)))
        # 6 departments x 2 topics x 2 of 4 partitions, and 2 of the capped topic's 4
        assert [r.assigned() for r in runners] == [26, 26]
        async with DepartmentClient("nhs", bootstrap, topics=topics) as nhs:
            requests = [
                nhs.new_request("ho", "nhs-ho-status-check", "marketing", status_query())
                for _ in range(40)
            ]
            replies = await nhs.request_many(requests, timeout=15)
        assert all(isinstance(r, Reply) and r.outcome is ReplyOutcome.DENIED for r in replies)
        assert all(r.stats.records_in > 0 for r in runners)
        assert sum(r.stats.records_in for r in runners) == 40
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for runner in runners:
            await runner.stop()


async def _eventually(condition: Callable[[], bool], *, within: float) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_a_request_redelivered_after_a_restart_is_still_answered_once(
    broker: BrokerUnderTest,
    bootstrap: str,
    producer_factory: ProducerFactory,
    consumer_factory: ConsumerFactory,
) -> None:
    topics = fresh_topics(broker, partitions=1)
    request = ExchangeRequest(
        request_id="restart-1",
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-status-check",
        purpose="overseas-visitor-charging",
        query=status_query(),
        sent_at=datetime.now(UTC),
    )
    producer = await producer_factory()
    for instance in ("before-restart", "after-restart"):
        runner = gateway_runner(bootstrap, topics, instance=instance)
        stop = asyncio.Event()
        await runner.start()
        task = asyncio.create_task(runner.run(stop))
        try:
            await producer.send_and_wait(topics.requests("nhs"), CODEC.encode(request), key=b"r")
            await _eventually(lambda: runner.stats.records_in == 1, within=10)  # noqa: B023
        finally:
            stop.set()
            await task
            await runner.stop()

    records = await audit_for(consumer_factory, topics, "restart-1", count=2)
    assert [r.outcome for r in records] == [AuditOutcome.APPROVED, AuditOutcome.DUPLICATE]
    assert records[1].gateway_instance == "after-restart"
    inbox = await read_all(consumer_factory, topics.inbox("ho"), until=lambda v: False, within=0.5)
    assert len(inbox) == 1
