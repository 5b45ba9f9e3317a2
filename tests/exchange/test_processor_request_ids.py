"""A request's ids reach the audit log, so the gateway keeps them to identifier shapes and never
writes one that is ill-shaped or unknown: only its length and a keyed hash."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from processor_support import CODEC, TOPICS, ProcessorFactory

from gateway.envelope.models import (
    AuditOutcome,
    AuditRecord,
    AuditStage,
    DeadLetter,
    ExchangeRequest,
    Reply,
    ReplyOutcome,
)
from gateway.exchange.messages import BatchOutputs, InputMessage
from gateway.exchange.processor import ExchangeProcessor

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
PERSONAL = "Jane Doe 1970-01-01 NHS 9990001234 HIV+"
"""What a careless or hostile requester types where an id belongs."""
WITHHELD = re.compile(r"<(invalid|unknown): (\d+) chars, hmac [0-9a-f]{12}>")


@pytest.fixture
def processor(processor_factory: ProcessorFactory) -> ExchangeProcessor:
    return processor_factory()


def status_check(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "request_id": "req-1",
        "requester": "nhs",
        "provider": "ho",
        "agreement_id": "nhs-ho-status-check",
        "purpose": "overseas-visitor-charging",
        "query": {"person_id": "HO-000042"},
        "wanted": [],
        "sent_at": NOW,
    }
    fields.update(overrides)
    return fields


def send(processor: ExchangeProcessor, fields: dict[str, Any]) -> BatchOutputs:
    """Publish ``fields`` as the NHS would, whatever their shape (valid Avro either way)."""
    value = CODEC.encode_fields(ExchangeRequest, fields)
    return processor.process_batch([InputMessage(TOPICS.requests("nhs"), 0, 5, b"k", value)], NOW)


def audit_text(out: BatchOutputs) -> str:
    """Every audit message of the batch, decoded as text (Avro strings are UTF-8 as they are)."""
    return "\n".join(m.value.decode("utf-8", errors="replace") for m in out.audit)


def assert_not_in_audit(out: BatchOutputs, value: str) -> None:
    text = audit_text(out)
    for part in (value, *value.split()):
        assert part not in text


@pytest.mark.parametrize(
    "field", ["purpose", "agreement_id", "requester", "provider", "request_id"]
)
def test_personal_data_in_an_id_is_refused_and_never_reaches_the_audit_log(
    processor: ExchangeProcessor, field: str
) -> None:
    out = send(processor, status_check(**{field: PERSONAL}))

    assert_not_in_audit(out, PERSONAL)
    (record,) = [CODEC.decode(m.value, AuditRecord) for m in out.audit]
    assert (record.stage, record.outcome) == (AuditStage.INPUT, AuditOutcome.DEAD_LETTERED)
    (reason,) = record.reasons
    assert reason.code == "request.malformed" and reason.message.startswith(f"{field} must be")
    found = WITHHELD.search(reason.message)
    assert found is not None and found.groups() == ("invalid", str(len(PERSONAL)))
    letters = [
        CODEC.decode(m.value, DeadLetter) for m in out.routed if m.topic == TOPICS.deadletter
    ]
    assert [d.error_code for d in letters] == ["request.malformed"]
    assert PERSONAL not in letters[0].reason


def test_a_query_key_that_is_personal_data_is_withheld_from_the_audit_log(
    processor: ExchangeProcessor,
) -> None:
    out = send(processor, status_check(query={"person_id": "HO-1", PERSONAL: "x"}))

    assert_not_in_audit(out, PERSONAL)
    (record,) = [CODEC.decode(m.value, AuditRecord) for m in out.audit]
    assert record.reasons[0].message.startswith("query has 1 key(s) that are not field names")


def test_every_field_at_fault_is_named_and_the_same_value_gives_the_same_hash(
    processor: ExchangeProcessor,
) -> None:
    out = send(processor, status_check(purpose=PERSONAL, agreement_id=PERSONAL))

    (record,) = [CODEC.decode(m.value, AuditRecord) for m in out.audit]
    assert [r.message.split()[0] for r in record.reasons] == ["agreement_id", "purpose"]
    hashes = {m.group(0) for r in record.reasons if (m := WITHHELD.search(r.message))}
    assert len(record.reasons) == 2
    assert len(hashes) == 1


def test_too_many_wanted_paths_are_refused_naming_the_count_and_the_limit(
    processor: ExchangeProcessor,
) -> None:
    out = send(processor, status_check(wanted=[f"f{i}" for i in range(300)]))

    (record,) = [CODEC.decode(m.value, AuditRecord) for m in out.audit]
    assert [r.message for r in record.reasons] == [
        "wanted has 300 entries; at most 256 are allowed"
    ]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("purpose", "jane-doe-1970-01-01-hiv", "purpose.not_allowed"),
        ("agreement_id", "jane-doe-1970-01-01-hiv", "agreement.unknown"),
        ("requester", "jane_doe_1970", "identity.requester_mismatch"),
        ("provider", "jane_doe_1970", "agreement.parties"),
    ],
)
def test_a_well_shaped_id_the_policies_do_not_know_is_denied_and_withheld(
    processor: ExchangeProcessor, field: str, value: str, code: str
) -> None:
    out = send(processor, status_check(**{field: value}))

    assert "jane" not in audit_text(out)
    (record,) = [CODEC.decode(m.value, AuditRecord) for m in out.audit]
    assert record.outcome is AuditOutcome.DENIED and code in [r.code for r in record.reasons]
    found = WITHHELD.fullmatch(getattr(record, field))
    assert found is not None and found.groups() == ("unknown", str(len(value)))
    (reply_bytes,) = [m.value for m in out.routed if m.topic == TOPICS.replies("nhs")]
    reply = CODEC.decode(reply_bytes, Reply)
    assert reply.outcome is ReplyOutcome.DENIED
    assert all("jane" not in r.message for r in reply.reasons)


def test_known_ids_are_written_as_they_are(processor: ExchangeProcessor) -> None:
    out = send(processor, status_check(purpose="right-to-work"))  # another agreement's purpose

    (record,) = [CODEC.decode(m.value, AuditRecord) for m in out.audit]
    assert (record.purpose, record.agreement_id) == ("right-to-work", "nhs-ho-status-check")
    assert "'right-to-work'" in record.reasons[0].message


# --- the requester hears of it --------------------------------------------------------------


def replies(out: BatchOutputs) -> list[Reply]:
    return [CODEC.decode(m.value, Reply) for m in out.routed if m.topic == TOPICS.replies("nhs")]


def test_a_malformed_request_with_a_well_shaped_id_is_denied_with_a_reply_to_its_sender(
    processor: ExchangeProcessor,
) -> None:
    out = send(processor, status_check(purpose=PERSONAL, wanted=["address postcode"]))

    (reply,) = replies(out)
    assert (reply.request_id, reply.requester, reply.outcome) == (
        "req-1",
        "nhs",
        ReplyOutcome.DENIED,
    )
    assert [r.code for r in reply.reasons] == ["request.malformed"] * 2
    assert (reply.provider, reply.agreement_id) == ("ho", "nhs-ho-status-check")
    assert WITHHELD.fullmatch(reply.purpose) is not None  # not repeated, even to its sender
    (record,) = [CODEC.decode(m.value, AuditRecord) for m in out.audit]
    assert (record.request_id, record.requester, record.sent_at) == ("req-1", "nhs", NOW)
    assert record.reasons == reply.reasons
    assert [m.topic for m in out.routed] == [TOPICS.deadletter, TOPICS.replies("nhs")]
    assert out.routed[1].key == b"req-1"


def test_a_malformed_request_is_answered_once_and_its_id_counts_as_used(
    processor: ExchangeProcessor,
) -> None:
    first = send(processor, status_check(wanted=["Address"]))
    again = send(processor, status_check(wanted=["Address"]))  # redelivered
    fixed = send(processor, status_check())  # the same id, now well-formed

    assert len(replies(first)) == 1 and replies(again) == []
    assert [m.topic for m in again.routed] == [TOPICS.deadletter]  # still refused, audited
    assert len(again.audit) == 1
    assert [CODEC.decode(m.value, AuditRecord).outcome for m in fixed.audit] == [
        AuditOutcome.DUPLICATE
    ]


def test_a_malformed_request_whose_id_is_ill_shaped_gets_no_reply(
    processor: ExchangeProcessor,
) -> None:
    out = send(processor, status_check(request_id=PERSONAL))

    assert replies(out) == []
    assert [m.topic for m in out.routed] == [TOPICS.deadletter]
    (record,) = [CODEC.decode(m.value, AuditRecord) for m in out.audit]
    assert record.request_id is None and record.requester is None
