"""Capped-topic records are believed only with the forwarding MAC a gateway instance made: a
forged one claiming another department is refused, audited and dead-lettered, never routed."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest
from processor_support import CODEC, TOKEN_SECRET, TOPICS, ProcessorFactory

from gateway.envelope.models import (
    AuditOutcome,
    AuditRecord,
    AuditStage,
    CappedRequest,
    DeadLetter,
    ExchangeRequest,
)
from gateway.exchange.forwarding import ForwardSigner
from gateway.exchange.messages import BatchOutputs, InputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.exchange.tokens import TokenSigner
from gateway.transport.topics import TopicNames

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
SECRET = TOKEN_SECRET


@pytest.fixture
def processor(processor_factory: ProcessorFactory) -> ExchangeProcessor:
    return processor_factory()


def census_request() -> bytes:
    """What the Home Office may ask of the school census: a pupil's address."""
    return CODEC.encode(
        ExchangeRequest(
            request_id="forged-1",
            requester="ho",
            provider="dfe",
            agreement_id="ho-dfe-school-census",
            purpose="locate-immigration-offender",
            query={"upn": "A123456789012"},
            sent_at=NOW,
        )
    )


def forged(mac: bytes, **overrides: object) -> bytes:
    """A capped record as an attacker writes it: valid Avro, claiming the Home Office sent it,
    with coordinates no gateway ever read."""
    fields: dict[str, object] = {
        "sender": "ho",
        "input_topic": TOPICS.requests("ho"),
        "input_partition": 0,
        "input_offset": 987_654,
        "request": census_request(),
        "mac": mac,
    }
    fields.update(overrides)
    return CODEC.encode(CappedRequest.model_validate(fields))


def on_capped(processor: ExchangeProcessor, value: bytes) -> BatchOutputs:
    return processor.process_batch([InputMessage(TOPICS.capped, 2, 41, b"k", value)], NOW)


def assert_refused(out: BatchOutputs) -> None:
    """Nothing decided or routed; one dead letter and one input-stage audit record saying why."""
    (record,) = [CODEC.decode(m.value, AuditRecord) for m in out.audit]
    assert (record.stage, record.outcome) == (AuditStage.INPUT, AuditOutcome.DEAD_LETTERED)
    assert [r.code for r in record.reasons] == ["capped.unauthenticated"]
    assert (record.input_topic, record.input_partition, record.input_offset) == (
        TOPICS.capped,
        2,
        41,
    )
    assert record.request_id is None and record.requester is None
    assert [m.topic for m in out.routed] == [TOPICS.deadletter]
    letter = CODEC.decode(out.routed[0].value, DeadLetter)
    assert letter.error_code == "capped.unauthenticated" and letter.input_topic == TOPICS.capped
    assert out.seen_keys == []


@pytest.mark.parametrize(
    "mac",
    [
        pytest.param(b"", id="missing"),
        pytest.param(os.urandom(32), id="random"),
        pytest.param(
            ForwardSigner.for_tokens(TokenSigner(b"dev-only-token-secret-change-me")).sign(
                sender="ho",
                input_topic=TOPICS.requests("ho"),
                input_partition=0,
                input_offset=987_654,
                request=census_request(),
            ),
            id="another-key",
        ),
        pytest.param(
            TokenSigner(SECRET)
            .issue(
                request_id="forged-1",
                requester="ho",
                provider="dfe",
                agreement_id="ho-dfe-school-census",
                purpose="locate-immigration-offender",
                wanted=[],
                issued_at=NOW,
            )
            .encode(),
            id="an-approval-token",
        ),
    ],
)
def test_a_forged_capped_request_claiming_the_home_office_is_refused_and_audited(
    processor: ExchangeProcessor, mac: bytes
) -> None:
    assert_refused(on_capped(processor, forged(mac)))


@pytest.mark.parametrize(
    "change",
    [
        {"sender": "nhs", "input_topic": TopicNames().requests("nhs")},
        {"input_offset": 7},
        {"input_partition": 3},
        {"request": b"\xc3\x01" + b"\x00" * 8},
    ],
    ids=["sender", "offset", "partition", "request"],
)
def test_a_genuine_forward_altered_in_any_field_is_refused(
    processor: ExchangeProcessor, change: dict[str, object]
) -> None:
    signer = ForwardSigner.for_tokens(TokenSigner(SECRET))
    genuine: dict[str, Any] = {
        "sender": "ho",
        "input_topic": TOPICS.requests("ho"),
        "input_partition": 0,
        "input_offset": 5,
        "request": census_request(),
    }
    mac = signer.sign(**genuine)

    assert_refused(on_capped(processor, forged(mac, **{**genuine, **change})))


def test_a_forward_made_by_another_instance_with_the_same_token_secret_is_decided(
    processor: ExchangeProcessor,
) -> None:
    other = ForwardSigner.for_tokens(TokenSigner(SECRET))
    fields: dict[str, Any] = {
        "sender": "ho",
        "input_topic": TOPICS.requests("ho"),
        "input_partition": 0,
        "input_offset": 5,
        "request": census_request(),
    }

    out = on_capped(processor, forged(other.sign(**fields), **fields))

    (record,) = [CODEC.decode(m.value, AuditRecord) for m in out.audit]
    assert record.stage is AuditStage.REQUEST and record.outcome is AuditOutcome.APPROVED
    assert (record.input_topic, record.input_offset) == (TOPICS.requests("ho"), 5)
    assert [m.topic for m in out.routed] == [TOPICS.inbox("dfe")]


def test_the_forwarding_key_is_not_the_token_key_nor_the_token_secret() -> None:
    signer = TokenSigner(SECRET)
    key = signer.derive_key(b"dx.gateway/capped-forward-mac/v1")

    assert len(key) == 32 and key != SECRET
    assert key != signer.derive_key(b"another label")
