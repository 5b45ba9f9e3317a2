"""Requests under a capped purpose go, undecided, to the one owner of their cap key's counter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from processor_support import CODEC, TOKEN_SECRET, TOPICS, ProcessorFactory, one_agreement, purpose

from gateway.envelope.models import (
    AuditOutcome,
    AuditRecord,
    CappedRequest,
    DeadLetter,
    ExchangeRequest,
    Reply,
)
from gateway.exchange.forwarding import ForwardSigner
from gateway.exchange.messages import BatchOutputs, InputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.exchange.tokens import TokenSigner
from gateway.policy import InMemoryVolumeCounter

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
KEY = ("nhs-ho-capped", "status", "nhs")


@pytest.fixture
def processor(processor_factory: ProcessorFactory) -> ExchangeProcessor:
    policy = one_agreement(KEY[0], purpose("status", caps={"per_hour": 2}), purpose("open"))
    processor = processor_factory(policy, audit_partitions=4)
    processor.restore_caps({3: InMemoryVolumeCounter()})
    return processor


def _request(n: int, *, purpose: str = "status", requester: str = "nhs") -> ExchangeRequest:
    return ExchangeRequest(
        request_id=f"req-{n}",
        requester=requester,
        provider="ho",
        agreement_id="nhs-ho-capped",
        purpose=purpose,
        query={"person_id": f"HO-{n}"},
        sent_at=NOW,
    )


def _arrived(request: ExchangeRequest, offset: int, sender: str = "nhs") -> InputMessage:
    return InputMessage(
        TOPICS.requests(sender), 1, offset, request.request_id.encode(), CODEC.encode(request)
    )


def _capped(out: BatchOutputs, partition: int = 3, first: int = 0) -> list[InputMessage]:
    """The batch's forwards as the owner of capped ``partition`` consumes them."""
    forwards = [m for m in out.routed if m.topic == TOPICS.capped]
    return [
        InputMessage(TOPICS.capped, partition, first + i, m.key, m.value)
        for i, m in enumerate(forwards)
    ]


def _audits(out: BatchOutputs) -> list[AuditRecord]:
    return [CODEC.decode(m.value, AuditRecord) for m in out.audit]


def test_a_capped_request_is_forwarded_undecided_keyed_by_its_cap_key(
    processor: ExchangeProcessor,
) -> None:
    request = _request(1)
    arrived = _arrived(request, 7)

    out = processor.process_batch([arrived], NOW)

    assert out.audit == [] and out.seen_keys == []  # not a decision
    (forward,) = out.routed
    assert forward.topic == TOPICS.capped and forward.key == b"nhs-ho-capped|status|nhs"
    envelope = CODEC.decode(forward.value, CappedRequest)
    assert (envelope.sender, envelope.input_topic) == ("nhs", TOPICS.requests("nhs"))
    assert (envelope.input_partition, envelope.input_offset) == (1, 7)
    assert envelope.request == arrived.value


def test_an_uncapped_request_is_decided_where_it_arrives(processor: ExchangeProcessor) -> None:
    out = processor.process_batch([_arrived(_request(1, purpose="open"), 0)], NOW)

    assert [r.outcome for r in _audits(out)] == [AuditOutcome.APPROVED]
    assert [m.topic for m in out.routed] == [TOPICS.inbox("ho")]


def test_the_owner_approves_up_to_the_cap_and_audits_with_the_original_coordinates(
    processor: ExchangeProcessor,
) -> None:
    forwarded = processor.process_batch([_arrived(_request(n), 10 + n) for n in range(3)], NOW)

    out = processor.process_batch(_capped(forwarded), NOW)

    records = _audits(out)
    assert [r.outcome for r in records] == [AuditOutcome.APPROVED] * 2 + [AuditOutcome.DENIED]
    assert [r.reasons[0].code for r in records[2:]] == ["cap.hourly"]
    assert [(r.input_topic, r.input_partition, r.input_offset) for r in records] == [
        (TOPICS.requests("nhs"), 1, 10 + n) for n in range(3)
    ]
    assert {m.partition for m in out.audit} == {3}  # the chain of the capped partition it owns
    assert processor.cap_counters[3].usage(KEY, NOW) == (2, 2)
    denial = CODEC.decode(out.routed[-1].value, Reply)
    assert out.routed[-1].topic == TOPICS.replies("nhs") and denial.request_id == "req-2"


def test_a_forwarded_request_claiming_another_requester_is_denied_and_not_counted(
    processor: ExchangeProcessor,
) -> None:
    spoofed = processor.process_batch([_arrived(_request(1), 0, sender="dfe")], NOW)
    assert spoofed.routed[0].key == b"nhs-ho-capped|status|dfe"  # the sender's key, not the claim

    out = processor.process_batch(_capped(spoofed), NOW)

    (record,) = _audits(out)
    assert "identity.requester_mismatch" in [r.code for r in record.reasons]
    assert record.input_topic == TOPICS.requests("dfe")
    assert [m.topic for m in out.routed] == [TOPICS.replies("dfe")]
    assert processor.cap_counters[3].usage(KEY, NOW) == (0, 0)


def test_a_redelivered_forward_is_a_duplicate_and_counts_once(
    processor: ExchangeProcessor,
) -> None:
    forwarded = processor.process_batch([_arrived(_request(1), 0)], NOW)
    again = processor.process_batch([_arrived(_request(1), 0)], NOW)  # input read twice

    out = processor.process_batch(_capped(forwarded) + _capped(again, first=1), NOW)

    assert [r.outcome for r in _audits(out)] == [AuditOutcome.APPROVED, AuditOutcome.DUPLICATE]
    assert processor.cap_counters[3].usage(KEY, NOW) == (1, 1)


def test_a_capped_partition_without_a_restored_counter_denies(
    processor: ExchangeProcessor,
) -> None:
    forwarded = processor.process_batch([_arrived(_request(1), 0)], NOW)

    out = processor.process_batch(_capped(forwarded, partition=2), NOW)

    assert [r.code for r in _audits(out)[0].reasons] == ["cap.unchecked"]


def test_a_capped_partition_given_up_denies_until_a_counter_is_restored_again(
    processor: ExchangeProcessor,
) -> None:
    forwarded = processor.process_batch([_arrived(_request(1), 0), _arrived(_request(2), 1)], NOW)
    first, second = _capped(forwarded)

    processor.drop_caps([3])
    dropped = processor.process_batch([first], NOW)
    assert processor.caps_missing([2, 3]) == [2, 3]
    restored = InMemoryVolumeCounter()
    restored.record(KEY, NOW)  # the day's approvals, read back from the audit log
    processor.restore_caps({3: restored})
    counted = processor.process_batch([second], NOW)

    assert [r.code for r in _audits(dropped)[0].reasons] == ["cap.unchecked"]
    assert [r.outcome for r in _audits(counted)] == [AuditOutcome.APPROVED]
    assert processor.caps_missing([2, 3]) == [2]
    assert processor.cap_counters[3].usage(KEY, NOW) == (2, 2)


def test_a_capped_request_whose_sender_is_not_its_input_topics_department_is_dead_lettered(
    processor: ExchangeProcessor,
) -> None:
    fields: dict[str, Any] = {
        "sender": "nhs",
        "input_topic": TOPICS.requests("dfe"),
        "input_partition": 0,
        "input_offset": 0,
        "request": CODEC.encode(_request(1)),
    }
    forwards = ForwardSigner.for_tokens(TokenSigner(TOKEN_SECRET))
    envelope = CappedRequest(**fields, mac=forwards.sign(**fields))  # a gateway's own mistake

    out = processor.process_batch(
        [InputMessage(TOPICS.capped, 3, 0, b"k", CODEC.encode(envelope))], NOW
    )

    (letter,) = [CODEC.decode(m.value, DeadLetter) for m in out.routed]
    assert letter.error_code == "identity_mismatch" and letter.input_topic == TOPICS.capped
    assert [r.outcome for r in _audits(out)] == [AuditOutcome.DEAD_LETTERED]
