"""The processor applies the policy layer: transforms, subject conditions, hot reload (caps:
test_processor_caps)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from processor_support import CODEC, ProcessorFactory
from records_support import hmrc_record

from gateway.envelope.models import (
    AuditOutcome,
    AuditRecord,
    ExchangeRequest,
    ProviderResponse,
    Reply,
    ReplyOutcome,
    ResponseStatus,
    RoutedRequest,
)
from gateway.errors import DecodeError
from gateway.exchange.messages import BatchOutputs, InputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.policy import CompiledPolicy, PolicyHolder, PolicySet, compile_policies

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
SECRET = b"test-pseudonym-secret-0123456789"


def policy(version: str = "v1", **purpose: Any) -> CompiledPolicy:
    fields: dict[str, Any] = {
        "id": "check",
        "description": "Find a taxpayer's properties.",
        "subject_identifiers": ["nino"],
        "request_fields": ["nino"],
        "response_fields": [
            "properties[].uprn",
            {"path": "nino", "transform": {"mask": {"keep_last": 2}}},
            {"path": "date_of_birth", "transform": "generalise"},
            {"path": "properties[].address.postcode", "transform": "generalise"},
            {"path": "employments[].employer_paye_ref", "transform": "pseudonym"},
        ],
    }
    fields.update(purpose)
    agreement = {
        "id": "ho-hmrc-test",
        "title": "t",
        "requester": "ho",
        "provider": "hmrc",
        "legal_basis": "b",
        "reference": "r",
        "owner": "o",
        "status": "active",
        "valid_from": "2020-01-01",
        "purposes": [fields],
    }
    return compile_policies(PolicySet.of([agreement], version=version), pseudonym_secret=SECRET)


@pytest.fixture
def processor(processor_factory: ProcessorFactory) -> ExchangeProcessor:
    return processor_factory(policy())


_OFFSETS: dict[str, int] = {}


def _next_offset(topic: str) -> int:
    """Consecutive offsets per topic, as Kafka gives them (the processor audits any gap)."""
    _OFFSETS[topic] = _OFFSETS.get(topic, -1) + 1
    return _OFFSETS[topic]


@pytest.fixture(autouse=True)
def _fresh_offsets() -> None:
    _OFFSETS.clear()


def _request(n: int = 1) -> InputMessage:
    request = ExchangeRequest(
        request_id=f"req-{n}",
        requester="ho",
        provider="hmrc",
        agreement_id="ho-hmrc-test",
        purpose="check",
        query={"nino": "QQ123456C"},
        sent_at=NOW,
    )
    topic = "dx.requests.ho"
    return InputMessage(topic, 0, _next_offset(topic), b"k", CODEC.encode(request))


def _response(routed: RoutedRequest, record: dict[str, Any]) -> InputMessage:
    response = ProviderResponse(
        request_id=routed.request_id,
        responder="hmrc",
        requester="ho",
        agreement_id=routed.agreement_id,
        purpose=routed.purpose,
        wanted=routed.wanted,
        issued_at=routed.issued_at,
        token=routed.token,
        status=ResponseStatus.FOUND,
        record=CODEC.encode_record("dx.datasets.EmploymentAndProperty", record),
        sent_at=NOW,
    )
    topic = "dx.responses.hmrc"
    return InputMessage(topic, 0, _next_offset(topic), b"k", CODEC.encode(response))


def _exchange(
    processor: ExchangeProcessor, record: dict[str, Any], n: int = 1
) -> tuple[Reply, AuditRecord, BatchOutputs]:
    asked = processor.process_batch([_request(n)], NOW)
    [inbox] = [m.value for m in asked.routed if m.topic == "dx.inbox.hmrc"]
    out = processor.process_batch([_response(CODEC.decode(inbox, RoutedRequest), record)], NOW)
    [reply] = [CODEC.decode(m.value, Reply) for m in out.routed if m.topic == "dx.replies.ho"]
    [audit] = _audits(out)
    return reply, audit, out


def _audits(out: BatchOutputs) -> list[AuditRecord]:
    """The batch's decision records (not the audit chain's checkpoints)."""
    records = []
    for message in out.audit:
        with contextlib.suppress(DecodeError):
            records.append(CODEC.decode(message.value, AuditRecord))
    return records


def test_transformed_fields_reach_the_reply_reduced_and_the_audit_record_by_name(
    processor: ExchangeProcessor,
) -> None:
    reply, audit, out = _exchange(processor, hmrc_record())

    released = json.loads(reply.record_json or "")
    assert released["nino"] == "*******6C"
    assert released["date_of_birth"] == 1990
    assert released["properties"] == [{"uprn": "100023336956", "address": {"postcode": "LS1"}}]
    assert released["employments"][0]["employer_paye_ref"].startswith("pn-")
    assert audit.fields_transformed == [
        "date_of_birth:generalise",
        "employments[].employer_paye_ref:pseudonym",
        "nino:mask",
        "properties[].address.postcode:generalise",
    ]
    assert "fields.transformed" in [r.code for r in reply.reasons]
    for raw in (b"QQ123456C", b"LS1 1AA", b"123/AB456", b"1990-02-03"):
        assert all(raw not in m.value for m in out.routed + out.audit)


def test_a_childs_record_is_withheld_with_a_reason_unless_the_purpose_allows_children(
    processor: ExchangeProcessor,
) -> None:
    child = hmrc_record(born=date(2010, 1, 1))
    reply, audit, _ = _exchange(processor, child)

    assert reply.outcome is ReplyOutcome.REDACTED
    assert reply.record_json is None
    assert reply.released_fields == []
    assert "subject.child" in [r.code for r in reply.reasons]
    assert audit.outcome is AuditOutcome.REDACTED
    assert audit.fields_released == [] and "nino" in audit.fields_withheld

    processor.policy = policy("v2", children="allowed")
    reply, _, _ = _exchange(processor, child, n=2)
    assert json.loads(reply.record_json or "")["date_of_birth"] == 2010


def test_a_policy_holder_swaps_the_processors_policy_for_the_next_record(
    processor: ExchangeProcessor,
) -> None:
    holder = PolicyHolder(processor.policy)
    holder.subscribe(lambda change: setattr(processor, "policy", change.new))
    holder.replace(policy("v2", description="Find a taxpayer's homes."))
    holder.replace(policy("v3", description="Find a taxpayer's homes.", children="allowed"))

    out = processor.process_batch([_request()], NOW)
    assert _audits(out)[0].policy_version == "v3"
