"""The gateway decides a request at the time it receives it, audits the sent_at the request
carries, and refuses a request whose sent_at is too far from its own clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from processor_support import CODEC, TOPICS, make_processor, one_agreement

from gateway.envelope.models import AuditOutcome, AuditRecord, ExchangeRequest, Reply, ReplyOutcome
from gateway.exchange.messages import BatchOutputs, InputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.policy import SentAtWindow
from gateway.settings import GatewaySettings

LAST_INSTANT = datetime(2026, 12, 3, 23, 59, 59, 999000, tzinfo=UTC)
"""The last millisecond of the agreement's last day (``valid_until: 2026-12-03``, UTC)."""


def processor(**options: Any) -> ExchangeProcessor:
    return make_processor(one_agreement("nhs-ho-check", valid_until="2026-12-03"), **options)


def receive(gateway: ExchangeProcessor, sent_at: datetime, received: datetime) -> BatchOutputs:
    request = ExchangeRequest(
        request_id="req-1",
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-check",
        purpose="status",
        query={"person_id": "HO-1"},
        sent_at=sent_at,
    )
    message = InputMessage(TOPICS.requests("nhs"), 0, 0, b"k", CODEC.encode(request))
    return gateway.process_batch([message], received)


def record_of(out: BatchOutputs) -> AuditRecord:
    (record,) = [CODEC.decode(m.value, AuditRecord) for m in out.audit]
    return record


def test_the_request_is_decided_at_the_receive_time_and_its_sent_at_is_audited() -> None:
    sent = LAST_INSTANT - timedelta(seconds=1)  # sent on the last day ...
    received = LAST_INSTANT + timedelta(seconds=1)  # ... received on the next (UTC)

    record = record_of(receive(processor(), sent, received))

    assert record.outcome is AuditOutcome.DENIED
    assert [r.code for r in record.reasons] == ["agreement.expired"]
    assert (record.at, record.sent_at) == (received, sent)


def test_the_last_day_counts_until_midnight_utc() -> None:
    record = record_of(receive(processor(), LAST_INSTANT, LAST_INSTANT))

    assert record.outcome is AuditOutcome.APPROVED
    assert record.sent_at == LAST_INSTANT


@pytest.mark.parametrize(
    ("offset", "code"),
    [
        (timedelta(minutes=5, milliseconds=1), "request.sent_at_ahead"),
        (-timedelta(hours=24, milliseconds=1), "request.sent_at_stale"),
    ],
    ids=["ahead", "stale"],
)
def test_a_sent_at_too_far_from_the_gateways_clock_is_denied_with_a_reply(
    offset: timedelta, code: str
) -> None:
    received = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)

    out = receive(processor(), received + offset, received)

    record = record_of(out)
    assert record.outcome is AuditOutcome.DENIED and [r.code for r in record.reasons] == [code]
    assert record.sent_at == received + offset
    (reply_bytes,) = [m.value for m in out.routed if m.topic == TOPICS.replies("nhs")]
    reply = CODEC.decode(reply_bytes, Reply)
    assert reply.outcome is ReplyOutcome.DENIED and [r.code for r in reply.reasons] == [code]
    assert not [m for m in out.routed if m.topic == TOPICS.inbox("ho")]


@pytest.mark.parametrize(
    "offset", [timedelta(minutes=5), -timedelta(hours=24), timedelta(0)], ids=str
)
def test_a_sent_at_within_the_window_is_approved(offset: timedelta) -> None:
    received = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)

    assert record_of(receive(processor(), received + offset, received)).outcome is (
        AuditOutcome.APPROVED
    )


def test_the_window_is_configurable() -> None:
    received = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    strict = processor(sent_at_window=SentAtWindow(ahead=timedelta(0), behind=timedelta(seconds=1)))

    record = record_of(receive(strict, received - timedelta(seconds=2), received))

    assert [r.code for r in record.reasons] == ["request.sent_at_stale"]
    assert "2 s before the gateway received it" in record.reasons[0].message


def test_the_window_comes_from_the_settings() -> None:
    settings = GatewaySettings(sent_at_max_ahead_seconds=1, sent_at_max_behind_seconds=60)

    assert settings.sent_at_window == SentAtWindow(timedelta(seconds=1), timedelta(minutes=1))
    assert GatewaySettings().sent_at_window == SentAtWindow(
        timedelta(minutes=5), timedelta(hours=24)
    )
