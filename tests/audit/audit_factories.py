"""Shared helpers for the audit tests: the codec, a fixed time, synthetic record fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway.audit.chain import AuditChain
from gateway.audit.files import ExportedMessage
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditOutcome, AuditStage, Reason

CODEC = Codec.default()
NOW = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)
ChainFactory = Callable[..., AuditChain]
LogFactory = Callable[..., list[ExportedMessage]]


def record_fields(n: int, *, at: datetime = NOW, **overrides: Any) -> dict[str, Any]:
    """The fields of the ``n``-th synthetic audit record (everything but the chain link)."""
    fields: dict[str, Any] = dict(
        decision_id=f"decision-{n:06d}",
        request_id=f"req-{n}",
        stage=AuditStage.REQUEST,
        at=at,
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-status-check",
        purpose="overseas-visitor-charging",
        outcome=AuditOutcome.APPROVED,
        reasons=[Reason(code="agreement.allows", message="the agreement allows this purpose")],
        fields_requested=["immigration_status"],
        fields_released=["person_id", "surname"],
        subject_key="0123456789abcdef0123456789abcdef",
        policy_version="2026-11-01.1",
        input_topic="dx.requests.nhs",
        input_partition=0,
        input_offset=n,
        gateway_instance="gw-test",
    )
    return fields | overrides
