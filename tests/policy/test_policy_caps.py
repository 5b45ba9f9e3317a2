"""Volume caps: per requester, per hour and per day (UTC), read through a VolumeCounter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.envelope.models import AuditOutcome, AuditStage
from gateway.policy import InMemoryVolumeCounter, PolicySet, Rule, decide, restore_from_audit

Factory = Callable[..., Any]
T0 = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
KEY = ("ho-hmrc-test", "check", "ho")


def capped(policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, **caps: int) -> Any:
    return policy_of(agreement_doc(purpose_doc(caps=caps)))


def approve_until_denied(
    policy: Any, request_of: Factory, volume: InMemoryVolumeCounter, at: datetime, limit: int = 50
) -> tuple[int, Any]:
    """Decide and record requests at ``at`` until one is denied: (approvals, the denial)."""
    for approved in range(limit):
        decision = decide(policy, request_of(), sender="ho", now=at, volume=volume)
        if not decision.allowed:
            return approved, decision
        assert decision.cap_key == KEY
        volume.record(decision.cap_key, at)
    raise AssertionError("never denied")


def test_the_request_over_the_hourly_cap_is_denied_with_cap_hourly(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, request_of: Factory
) -> None:
    policy = capped(policy_of, agreement_doc, purpose_doc, per_hour=3)
    approved, denial = approve_until_denied(policy, request_of, InMemoryVolumeCounter(), T0)
    assert approved == 3
    assert denial.outcome is AuditOutcome.DENIED
    assert [r.code for r in denial.reasons] == [Rule.CAP_HOURLY]
    assert "3 request(s)" in denial.reasons[0].message
    assert denial.response_fields == ()


def test_the_hourly_window_is_the_utc_clock_hour(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, request_of: Factory
) -> None:
    policy = capped(policy_of, agreement_doc, purpose_doc, per_hour=2)
    volume = InMemoryVolumeCounter()
    late = T0 + timedelta(minutes=59, seconds=59)
    assert approve_until_denied(policy, request_of, volume, late)[0] == 2
    next_hour = T0 + timedelta(hours=1)
    assert approve_until_denied(policy, request_of, volume, next_hour)[0] == 2


def test_the_daily_cap_spans_hours_and_resets_at_utc_midnight(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, request_of: Factory
) -> None:
    policy = capped(policy_of, agreement_doc, purpose_doc, per_hour=2, per_day=3)
    volume = InMemoryVolumeCounter()
    assert approve_until_denied(policy, request_of, volume, T0)[0] == 2
    approved, denial = approve_until_denied(policy, request_of, volume, T0 + timedelta(hours=1))
    assert approved == 1
    assert [r.code for r in denial.reasons] == [Rule.CAP_DAILY]
    midnight = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
    assert approve_until_denied(policy, request_of, volume, midnight)[0] == 2


def test_both_caps_are_named_when_both_are_reached(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, request_of: Factory
) -> None:
    policy = capped(policy_of, agreement_doc, purpose_doc, per_hour=2, per_day=2)
    _, denial = approve_until_denied(policy, request_of, InMemoryVolumeCounter(), T0)
    assert [r.code for r in denial.reasons] == [Rule.CAP_HOURLY, Rule.CAP_DAILY]


def test_caps_count_per_requester(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, request_of: Factory
) -> None:
    policy = capped(policy_of, agreement_doc, purpose_doc, per_hour=1)
    volume = InMemoryVolumeCounter()
    volume.record(("ho-hmrc-test", "check", "dwp"), T0)  # another requester's approvals
    volume.record(("ho-hmrc-test", "other", "ho"), T0)  # the same requester, another purpose
    assert approve_until_denied(policy, request_of, volume, T0)[0] == 1


def test_denials_do_not_count_towards_a_cap(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, request_of: Factory
) -> None:
    policy = capped(policy_of, agreement_doc, purpose_doc, per_hour=1)
    volume = InMemoryVolumeCounter()
    denied = decide(policy, request_of(query={}), sender="ho", now=T0, volume=volume)
    assert not denied.allowed and denied.cap_key is None
    assert [r.code for r in denied.reasons] == [Rule.NO_SUBJECT_IDENTIFIER]
    assert approve_until_denied(policy, request_of, volume, T0)[0] == 1


def test_decide_only_reads_the_counter(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, request_of: Factory
) -> None:
    policy = capped(policy_of, agreement_doc, purpose_doc, per_hour=1)
    volume = InMemoryVolumeCounter()
    for _ in range(3):
        assert decide(policy, request_of(), sender="ho", now=T0, volume=volume).allowed
    assert volume.usage(KEY, T0) == (0, 0)


def test_a_capped_purpose_without_a_counter_is_denied_rather_than_left_unchecked(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, request_of: Factory
) -> None:
    policy = capped(policy_of, agreement_doc, purpose_doc, per_day=100)
    decision = decide(policy, request_of(), sender="ho", now=T0)
    assert [r.code for r in decision.reasons] == [Rule.CAP_UNCHECKED]


def test_an_uncapped_purpose_needs_no_counter_and_records_nothing(
    policy_of: Factory, request_of: Factory
) -> None:
    decision = decide(policy_of(), request_of(), sender="ho", now=T0)
    assert decision.allowed and decision.cap_key is None


@pytest.mark.parametrize(
    ("caps", "message"),
    [
        ({}, "give per_hour, per_day or both"),
        ({"per_hour": 10, "per_day": 5}, "must not be more than per_day"),
        ({"per_hour": 0}, "greater than or equal to 1"),
        ({"per_day": "50"}, "valid integer"),
        ({"per_week": 5}, "per_week"),
    ],
)
def test_caps_that_cannot_work_do_not_load(
    agreement_doc: Factory, purpose_doc: Factory, caps: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        PolicySet.of([agreement_doc(purpose_doc(caps=caps))])


# --- the in-memory counter and restoring it -------------------------------------------------


def test_the_counter_keeps_the_latest_window_and_ignores_late_records_for_earlier_ones() -> None:
    volume = InMemoryVolumeCounter()
    volume.record(KEY, T0 + timedelta(hours=1))
    volume.record(KEY, T0)  # an earlier hour, replayed late: only the day counts it
    assert volume.usage(KEY, T0 + timedelta(hours=1)) == (1, 2)
    assert volume.usage(KEY, T0 + timedelta(hours=2)) == (0, 2)
    assert volume.usage(KEY, T0 + timedelta(days=1)) == (0, 0)


def test_a_clock_that_steps_back_keeps_the_later_count() -> None:
    volume = InMemoryVolumeCounter()
    volume.record(KEY, T0 + timedelta(hours=1))
    assert volume.usage(KEY, T0) == (1, 1)


def _audit(outcome: AuditOutcome, at: datetime, stage: AuditStage = AuditStage.REQUEST) -> Any:
    """The fields of an audit record that restoring reads."""
    return SimpleNamespace(
        stage=stage,
        outcome=outcome,
        at=at,
        requester="ho",
        agreement_id="ho-hmrc-test",
        purpose="check",
    )


def test_restoring_from_the_audit_log_counts_only_approved_requests() -> None:
    volume = InMemoryVolumeCounter()
    restored = restore_from_audit(
        volume,
        [
            _audit(AuditOutcome.APPROVED, T0),
            _audit(AuditOutcome.APPROVED_MINIMISED, T0 + timedelta(minutes=5)),
            _audit(AuditOutcome.DENIED, T0),
            _audit(AuditOutcome.DUPLICATE, T0),
            _audit(AuditOutcome.RELEASED, T0, AuditStage.RESPONSE),
            _audit(AuditOutcome.APPROVED, T0 - timedelta(hours=2)),
        ],
    )
    assert restored == 3
    assert volume.usage(KEY, T0 + timedelta(minutes=30)) == (2, 3)


def test_a_restart_that_restores_from_the_audit_log_keeps_enforcing_the_cap(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, request_of: Factory
) -> None:
    policy = capped(policy_of, agreement_doc, purpose_doc, per_day=2)
    log = [_audit(AuditOutcome.APPROVED, T0), _audit(AuditOutcome.APPROVED, T0)]
    fresh = InMemoryVolumeCounter()
    restore_from_audit(fresh, log)
    decision = decide(policy, request_of(), sender="ho", now=T0, volume=fresh)
    assert [r.code for r in decision.reasons] == [Rule.CAP_DAILY]
