"""The exchange processor, the gateway's pure core: one record in, audited outputs out."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from processor_support import CODEC, TOPICS, ProcessorFactory, make_processor

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
from gateway.envelope.signature import SIGNATURE_HEADER, MessageVerifier
from gateway.exchange.dedupe import SeenIds
from gateway.exchange.messages import BatchOutputs, InputMessage, OutputMessage
from gateway.exchange.processor import ExchangeProcessor

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


@pytest.fixture
def processor(processor_factory: ProcessorFactory) -> ExchangeProcessor:
    return processor_factory()


def status_check(**overrides: Any) -> ExchangeRequest:
    """An NHS trust asks the Home Office for a patient's immigration status."""
    fields: dict[str, Any] = {
        "request_id": "req-1",
        "requester": "nhs",
        "provider": "ho",
        "agreement_id": "nhs-ho-status-check",
        "purpose": "overseas-visitor-charging",
        "query": {"person_id": "HO-000042", "surname": "Okafor", "date_of_birth": "1990-01-02"},
        "sent_at": NOW,
    }
    fields.update(overrides)
    return ExchangeRequest(**fields)


def ho_record() -> dict[str, Any]:
    return {
        "person_id": "HO-000042",
        "surname": "Okafor",
        "forenames": "Ada",
        "date_of_birth": date(1990, 1, 2),
        "nationality": "NGA",
        "immigration_status": "LIMITED_LEAVE",
        "leave_expiry": date(2027, 6, 30),
        "conditions": {
            "right_to_work": True,
            "right_to_rent": True,
            "no_recourse_to_public_funds": True,
            "immigration_health_surcharge_paid": True,
        },
        "case_reference": "CR-2024-001",
        "address": {
            "line1": "1 High Street",
            "line2": None,
            "town": "Leeds",
            "postcode": "LS1 1AA",
        },
    }


def _input(topic: str, value: bytes | None, offset: int = 0) -> InputMessage:
    return InputMessage(topic=topic, partition=0, offset=offset, key=b"k", value=value)


def run(processor: ExchangeProcessor, *messages: InputMessage, now: datetime = NOW) -> BatchOutputs:
    return processor.process_batch(messages, now)


def audits(out: BatchOutputs) -> list[AuditRecord]:
    return [CODEC.decode(m.value, AuditRecord) for m in out.audit]


def routed_to(out: BatchOutputs, topic: str) -> list[bytes]:
    return [m.value for m in out.routed if m.topic == topic]


def approve(processor: ExchangeProcessor, request: ExchangeRequest) -> RoutedRequest:
    out = run(processor, _input(TOPICS.requests(request.requester), CODEC.encode(request)))
    (inbox,) = routed_to(out, TOPICS.inbox(request.provider))
    return CODEC.decode(inbox, RoutedRequest)


def answer(routed: RoutedRequest, found: dict[str, Any] | None, **overrides: Any) -> bytes:
    fields: dict[str, Any] = {
        "request_id": routed.request_id,
        "responder": routed.provider,
        "requester": routed.requester,
        "agreement_id": routed.agreement_id,
        "purpose": routed.purpose,
        "wanted": routed.wanted,
        "issued_at": routed.issued_at,
        "token": routed.token,
        "status": ResponseStatus.FOUND if found is not None else ResponseStatus.NOT_FOUND,
        "record": CODEC.encode_record("dx.datasets.ImmigrationStatus", found) if found else None,
        "sent_at": NOW,
    }
    fields.update(overrides)
    return CODEC.encode(ProviderResponse(**fields))


# --- request path -------------------------------------------------------------------------------


def test_an_allowed_request_is_routed_to_the_providers_inbox_with_an_approval_token(
    processor: ExchangeProcessor,
) -> None:
    out = run(processor, _input(TOPICS.requests("nhs"), CODEC.encode(status_check())))

    (inbox,) = routed_to(out, TOPICS.inbox("ho"))
    routed = CODEC.decode(inbox, RoutedRequest)
    assert routed.request_id == "req-1"
    assert routed.token
    assert routed.wanted == [
        "conditions.immigration_health_surcharge_paid",
        "immigration_status",
        "leave_expiry",
    ]
    (record,) = audits(out)
    assert record.stage is AuditStage.REQUEST
    assert record.outcome is AuditOutcome.APPROVED
    assert record.policy_version == processor.policy.version
    assert record.input_topic == "dx.requests.nhs"


def test_query_fields_the_purpose_does_not_need_are_removed_before_routing(
    processor: ExchangeProcessor,
) -> None:
    request = status_check(query={"person_id": "HO-000042", "nhs_number": "9990001234"})
    out = run(processor, _input(TOPICS.requests("nhs"), CODEC.encode(request)))

    routed = CODEC.decode(routed_to(out, TOPICS.inbox("ho"))[0], RoutedRequest)
    assert routed.query == {"person_id": "HO-000042"}
    (record,) = audits(out)
    assert record.outcome is AuditOutcome.APPROVED_MINIMISED
    assert record.fields_withheld == ["nhs_number"]
    assert record.fields_released == ["person_id"]


def test_a_request_for_a_purpose_the_agreement_lacks_is_denied_with_its_reason(
    processor: ExchangeProcessor,
) -> None:
    out = run(
        processor,
        _input(TOPICS.requests("nhs"), CODEC.encode(status_check(purpose="marketing"))),
    )

    assert routed_to(out, TOPICS.inbox("ho")) == []
    reply = CODEC.decode(routed_to(out, TOPICS.replies("nhs"))[0], Reply)
    assert reply.outcome is ReplyOutcome.DENIED
    assert [r.code for r in reply.reasons] == ["purpose.not_allowed"]
    assert audits(out)[0].outcome is AuditOutcome.DENIED


def test_a_department_claiming_to_be_another_is_denied_and_the_denial_goes_back_to_the_sender(
    processor: ExchangeProcessor,
) -> None:
    spoofed = status_check()  # claims to be the NHS ...
    out = run(processor, _input(TOPICS.requests("dfe"), CODEC.encode(spoofed)))  # ... sent by DfE

    assert routed_to(out, TOPICS.inbox("ho")) == []
    assert routed_to(out, TOPICS.replies("nhs")) == []
    reply = CODEC.decode(routed_to(out, TOPICS.replies("dfe"))[0], Reply)
    assert "identity.requester_mismatch" in [r.code for r in reply.reasons]
    assert audits(out)[0].outcome is AuditOutcome.DENIED


def test_a_redelivered_request_is_audited_as_a_duplicate_and_not_answered_again(
    processor: ExchangeProcessor,
) -> None:
    payload = CODEC.encode(status_check())
    first = run(processor, _input(TOPICS.requests("nhs"), payload, offset=7))
    again = run(processor, _input(TOPICS.requests("nhs"), payload, offset=7))

    assert len(first.routed) == 1
    assert again.routed == []
    assert audits(again)[0].outcome is AuditOutcome.DUPLICATE


def test_a_batch_that_was_not_written_is_forgotten_so_its_redelivery_is_processed(
    processor: ExchangeProcessor,
) -> None:
    payload = CODEC.encode(status_check())
    lost = run(processor, _input(TOPICS.requests("nhs"), payload))
    processor.forget(lost)

    assert len(run(processor, _input(TOPICS.requests("nhs"), payload)).routed) == 1


def test_audit_records_carry_field_names_and_a_pseudonymous_key_never_values(
    processor: ExchangeProcessor,
) -> None:
    out = run(processor, _input(TOPICS.requests("nhs"), CODEC.encode(status_check())))

    raw = out.audit[0].value
    for value in (b"HO-000042", b"Okafor", b"1990-01-02"):
        assert value not in raw
    record = audits(out)[0]
    assert record.subject_key is not None
    assert len(record.subject_key) == 32
    assert "person_id" in record.fields_released


def test_a_request_whose_identifier_is_only_spaces_gets_no_subject_key(
    processor: ExchangeProcessor,
) -> None:
    request = status_check(query={"person_id": "   ", "surname": "Okafor"})
    out = run(processor, _input(TOPICS.requests("nhs"), CODEC.encode(request)))

    assert audits(out)[0].subject_key is None


# --- response path ------------------------------------------------------------------------------


def test_a_verified_response_is_redacted_to_the_purposes_fields_and_sent_to_the_requester(
    processor: ExchangeProcessor,
) -> None:
    routed = approve(processor, status_check())
    out = run(processor, _input(TOPICS.responses("ho"), answer(routed, ho_record())))

    reply = CODEC.decode(routed_to(out, TOPICS.replies("nhs"))[0], Reply)
    assert reply.outcome is ReplyOutcome.REDACTED
    assert json.loads(reply.record_json or "") == {
        "immigration_status": "LIMITED_LEAVE",
        "leave_expiry": "2027-06-30",
        "conditions": {"immigration_health_surcharge_paid": True},
    }
    assert "address.postcode" in reply.withheld_fields
    assert b"LS1 1AA" not in routed_to(out, TOPICS.replies("nhs"))[0]
    (record,) = audits(out)
    assert record.outcome is AuditOutcome.REDACTED
    assert "address.postcode" in record.fields_withheld
    assert record.subject_key is not None


@pytest.mark.parametrize("identifier", ["", "   "])
def test_a_provider_record_with_an_empty_identifier_gets_no_subject_key(
    processor: ExchangeProcessor, identifier: str
) -> None:
    routed = approve(processor, status_check())
    found = {**ho_record(), "person_id": identifier}
    out = run(processor, _input(TOPICS.responses("ho"), answer(routed, found)))

    (record,) = audits(out)
    assert record.outcome is AuditOutcome.REDACTED
    assert record.subject_key is None


def test_a_response_with_a_forged_token_is_blocked_and_nothing_reaches_the_requester(
    processor: ExchangeProcessor,
) -> None:
    routed = approve(processor, status_check())
    forged = answer(routed, ho_record(), token="A" * 43)
    out = run(processor, _input(TOPICS.responses("ho"), forged))

    assert out.routed == []
    (record,) = audits(out)
    assert record.outcome is AuditOutcome.BLOCKED
    assert record.reasons[0].code == "token.invalid"


def test_a_response_that_widens_the_fields_it_may_return_is_blocked(
    processor: ExchangeProcessor,
) -> None:
    routed = approve(processor, status_check())
    widened = answer(routed, ho_record(), wanted=[*routed.wanted, "address"])
    out = run(processor, _input(TOPICS.responses("ho"), widened))

    assert out.routed == []
    assert audits(out)[0].outcome is AuditOutcome.BLOCKED


def test_an_unsolicited_response_is_blocked(processor: ExchangeProcessor) -> None:
    never_routed = RoutedRequest(
        request_id="made-up",
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-status-check",
        purpose="overseas-visitor-charging",
        query={},
        wanted=["immigration_status"],
        policy_version="x",
        issued_at=NOW,
        token="not-a-token",
    )
    out = run(processor, _input(TOPICS.responses("ho"), answer(never_routed, ho_record())))

    assert out.routed == []
    assert audits(out)[0].outcome is AuditOutcome.BLOCKED


def test_a_response_sent_on_another_departments_topic_is_blocked(
    processor: ExchangeProcessor,
) -> None:
    routed = approve(processor, status_check())
    out = run(processor, _input(TOPICS.responses("dfe"), answer(routed, ho_record())))

    assert out.routed == []
    assert audits(out)[0].reasons[0].code == "identity.responder_mismatch"


def test_a_response_arriving_after_the_token_expired_is_blocked(
    processor: ExchangeProcessor,
) -> None:
    routed = approve(processor, status_check())
    late = NOW + timedelta(days=2)
    out = run(processor, _input(TOPICS.responses("ho"), answer(routed, ho_record())), now=late)

    assert out.routed == []
    assert audits(out)[0].reasons[0].code == "token.expired"


def test_a_second_response_to_the_same_request_is_not_released(
    processor: ExchangeProcessor,
) -> None:
    routed = approve(processor, status_check())
    payload = answer(routed, ho_record())
    run(processor, _input(TOPICS.responses("ho"), payload))
    again = run(processor, _input(TOPICS.responses("ho"), payload, offset=1))

    assert again.routed == []
    assert audits(again)[0].outcome is AuditOutcome.DUPLICATE


def test_not_found_is_passed_back_without_a_record(processor: ExchangeProcessor) -> None:
    routed = approve(processor, status_check())
    out = run(processor, _input(TOPICS.responses("ho"), answer(routed, None)))

    reply = CODEC.decode(routed_to(out, TOPICS.replies("nhs"))[0], Reply)
    assert reply.status is ResponseStatus.NOT_FOUND
    assert reply.record_json is None


def test_a_provider_record_that_does_not_match_its_dataset_schema_is_dead_lettered(
    processor: ExchangeProcessor,
) -> None:
    routed = approve(processor, status_check())
    out = run(
        processor,
        _input(
            TOPICS.responses("ho"),
            answer(routed, None, record=b"junk", status=ResponseStatus.FOUND),
        ),
    )

    assert len(routed_to(out, TOPICS.deadletter)) == 1
    reply = CODEC.decode(routed_to(out, TOPICS.replies("nhs"))[0], Reply)
    assert reply.outcome is ReplyOutcome.DENIED
    assert audits(out)[0].outcome is AuditOutcome.DEAD_LETTERED


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b"\x00\x01garbage", "undecodable"),
        (b"\xc3\x01" + b"\x00" * 8 + b"body", "unknown_schema"),
        (None, "undecodable"),
    ],
)
def test_bad_bytes_go_to_the_dead_letter_topic_with_a_reason_and_an_audit_record(
    processor: ExchangeProcessor, value: bytes | None, code: str
) -> None:
    out = run(processor, _input(TOPICS.requests("nhs"), value, offset=3))

    (letter_bytes,) = routed_to(out, TOPICS.deadletter)
    letter = CODEC.decode(letter_bytes, DeadLetter)
    assert letter.error_code == code
    assert letter.input_offset == 3
    assert letter.reason
    (record,) = audits(out)
    assert record.stage is AuditStage.INPUT
    assert record.outcome is AuditOutcome.DEAD_LETTERED
    assert record.reasons[0].code == code


def test_a_message_of_the_wrong_type_on_a_requests_topic_is_dead_lettered(
    processor: ExchangeProcessor,
) -> None:
    routed = approve(processor, status_check())
    out = run(processor, _input(TOPICS.requests("nhs"), CODEC.encode(routed)))

    assert len(routed_to(out, TOPICS.deadletter)) == 1
    assert audits(out)[0].outcome is AuditOutcome.DEAD_LETTERED


# --- signatures on what departments receive -----------------------------------------------------


def test_routed_requests_and_replies_carry_the_gateways_signature_for_their_topic(
    processor: ExchangeProcessor,
) -> None:
    verifier = MessageVerifier()  # the development key's public half, as shipped
    routed = run(processor, _input(TOPICS.requests("nhs"), CODEC.encode(status_check())))
    denied = run(
        processor,
        _input(TOPICS.requests("nhs"), CODEC.encode(status_check(request_id="r2", purpose="x"))),
    )
    routed_request = CODEC.decode(routed.routed[0].value, RoutedRequest)
    answered = run(processor, _input(TOPICS.responses("ho"), answer(routed_request, ho_record())))

    for out, topic in ((routed, "inbox.ho"), (denied, "replies.nhs"), (answered, "replies.nhs")):
        (message,) = out.routed
        assert message.topic == f"dx.{topic}"
        assert verifier.problem(message.topic, message.value, message.headers) is None


def test_a_batchs_messages_to_departments_share_one_signature_and_each_verifies_alone(
    processor: ExchangeProcessor,
) -> None:
    requests = [
        _input(TOPICS.requests("nhs"), CODEC.encode(status_check(request_id=f"b{i}")))
        for i in range(5)
    ] + [_input(TOPICS.requests("nhs"), b"not avro")]

    out = processor.process_batch(requests, NOW)

    signed = [m for m in out.routed if m.topic != TOPICS.deadletter]
    assert len(signed) == 5
    assert len({_headers(m)[SIGNATURE_HEADER] for m in signed}) == 1
    for message in signed:
        assert MessageVerifier().problem(message.topic, message.value, message.headers) is None


def test_dead_letters_stay_unsigned(processor: ExchangeProcessor) -> None:
    out = run(processor, _input(TOPICS.requests("nhs"), b"not avro"))

    (letter,) = out.routed
    assert letter.topic == TOPICS.deadletter
    assert SIGNATURE_HEADER not in dict(letter.headers or [])


# --- replay horizon: a bounded memory never lets a response out twice ---------------------------


def small_memory_processor(capacity: int) -> ExchangeProcessor:
    return make_processor(seen=SeenIds(capacity))


def deny_many(processor: ExchangeProcessor, count: int, now: datetime) -> None:
    """``count`` later exchanges (denials), each remembered, pushing older ones out."""
    for i in range(count):
        request = status_check(request_id=f"later-{i}", purpose="marketing")
        run(processor, _input(TOPICS.requests("nhs"), CODEC.encode(request), offset=i), now=now)


def test_a_response_replayed_after_its_release_was_evicted_is_refused_and_audited() -> None:
    processor = small_memory_processor(capacity=3)
    routed = approve(processor, status_check())
    payload = answer(routed, ho_record())
    first = run(processor, _input(TOPICS.responses("ho"), payload))
    assert len(routed_to(first, TOPICS.replies("nhs"))) == 1
    later = NOW + timedelta(minutes=5)
    deny_many(processor, 5, later)

    again = run(processor, _input(TOPICS.responses("ho"), payload, offset=1), now=later)

    assert again.routed == []
    (record,) = audits(again)
    assert record.outcome is AuditOutcome.BLOCKED
    assert [r.code for r in record.reasons] == ["exchange.before_replay_horizon"]
    assert record.request_id == routed.request_id
    assert processor.seen.horizon == NOW  # the forgotten release's time


def test_a_response_approved_after_the_horizon_is_still_released_once() -> None:
    processor = small_memory_processor(capacity=3)
    old = approve(processor, status_check())
    run(processor, _input(TOPICS.responses("ho"), answer(old, ho_record())))
    later = NOW + timedelta(minutes=5)
    deny_many(processor, 5, later)
    routed = CODEC.decode(
        routed_to(
            run(
                processor,
                _input(TOPICS.requests("nhs"), CODEC.encode(status_check(request_id="new-1"))),
                now=later,
            ),
            TOPICS.inbox("ho"),
        )[0],
        RoutedRequest,
    )
    payload = answer(routed, ho_record())

    first = run(processor, _input(TOPICS.responses("ho"), payload), now=later)
    again = run(processor, _input(TOPICS.responses("ho"), payload, offset=1), now=later)

    assert len(routed_to(first, TOPICS.replies("nhs"))) == 1
    assert again.routed == []
    assert audits(again)[0].outcome is AuditOutcome.DUPLICATE


def test_a_recalled_reply_that_the_memory_cannot_keep_moves_the_horizon_to_its_time() -> None:
    """After a restart the memory is rebuilt from earlier replies; one that does not fit is
    forgotten like any other release, and a replay of its response is refused."""
    before = small_memory_processor(capacity=100)
    routed = approve(before, status_check())
    payload = answer(routed, ho_record())
    (reply,) = routed_to(
        run(before, _input(TOPICS.responses("ho"), payload)), TOPICS.replies("nhs")
    )
    restarted = small_memory_processor(capacity=2)
    restarted.recall(TOPICS.replies("nhs"), reply, NOW + timedelta(minutes=1))
    deny_many(restarted, 3, NOW + timedelta(minutes=2))

    again = run(restarted, _input(TOPICS.responses("ho"), payload), now=NOW + timedelta(minutes=2))

    assert again.routed == []
    assert audits(again)[0].reasons[0].code == "exchange.before_replay_horizon"


# --- Kafka headers: what generic tools can filter on without decoding Avro --------------------


def _headers(m: OutputMessage) -> dict[str, bytes]:
    return dict(m.headers or [])


def test_routed_requests_and_audit_records_name_their_schema_and_request_id(
    processor: ExchangeProcessor,
) -> None:
    request = status_check(request_id="req-headers-1")
    out = processor.process_batch(
        [InputMessage(TOPICS.requests("nhs"), 0, 0, b"req-headers-1", CODEC.encode(request))], NOW
    )
    (routed,) = out.routed
    assert routed.topic == TOPICS.inbox("ho")
    headers = _headers(routed)
    assert headers["dx-schema"] == b"dx.gateway.RoutedRequest"
    assert headers["dx-request-id"] == b"req-headers-1"
    assert SIGNATURE_HEADER in headers  # still signed
    (audit,) = out.audit
    assert _headers(audit) == {
        "dx-schema": b"dx.gateway.AuditRecord",
        "dx-request-id": b"req-headers-1",
    }


def test_denial_replies_carry_the_reply_schema(processor: ExchangeProcessor) -> None:
    request = status_check(request_id="req-headers-2", purpose="debt-collection")
    out = processor.process_batch(
        [InputMessage(TOPICS.requests("nhs"), 0, 0, b"req-headers-2", CODEC.encode(request))], NOW
    )
    (reply,) = out.routed
    assert reply.topic == TOPICS.replies("nhs")
    assert _headers(reply)["dx-schema"] == b"dx.gateway.Reply"
    assert _headers(reply)["dx-request-id"] == b"req-headers-2"


def test_dead_letters_carry_reason_and_original_coordinates_but_no_value(
    processor: ExchangeProcessor,
) -> None:
    junk = b"\xc3\x01 not really avro 9990001234"
    out = processor.process_batch([InputMessage(TOPICS.requests("dfe"), 3, 17, b"k", junk)], NOW)
    (letter,) = out.routed
    assert letter.topic == TOPICS.deadletter
    assert _headers(letter) == {
        "dx-schema": b"dx.gateway.DeadLetter",
        "dx-reason": b"unknown_schema",
        "dx-original-topic": TOPICS.requests("dfe").encode(),
        "dx-original-partition": b"3",
        "dx-original-offset": b"17",
    }
    assert _headers(out.audit[0])["dx-schema"] == b"dx.gateway.AuditRecord"
