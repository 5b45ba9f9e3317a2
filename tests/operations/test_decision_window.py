"""The decision window counts audit records by their decision time, over a minute and an hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.operations.window import DecisionWindow

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


def record(ago: timedelta, outcome: str = "APPROVED", **fields: Any) -> dict[str, Any]:
    return {
        "at": NOW - ago,
        "stage": "REQUEST",
        "agreement_id": "nhs-ho-status-check",
        "outcome": outcome,
        "reasons": [],
        "policy_version": "v1",
        **fields,
    }


def test_a_record_counts_in_the_minute_and_the_hour_it_falls_in_and_is_forgotten_after() -> None:
    window = DecisionWindow()
    for ago in (timedelta(seconds=30), timedelta(minutes=10), timedelta(hours=2)):
        window.add(record(ago))

    window.prune(NOW)
    (count,) = window.decisions(NOW)

    assert (count.agreement_id, count.outcome) == ("nhs-ho-status-check", "APPROVED")
    assert (count.last_minute, count.last_hour) == (1, 2)
    assert window.decisions(NOW + timedelta(hours=3)) == ()


def test_refusal_reasons_are_counted_for_denials_and_blocks_only() -> None:
    window = DecisionWindow()
    denied = [{"code": "purpose.not_allowed", "message": "not allowed"}]
    window.add(record(timedelta(seconds=5), "DENIED", reasons=denied))
    window.add(record(timedelta(seconds=6), "DENIED", reasons=denied))
    window.add(record(timedelta(seconds=7), "APPROVED", reasons=[{"code": "ok", "message": "m"}]))

    (reason,) = window.reasons(NOW)

    assert (reason.outcome, reason.code, reason.message, reason.last_hour) == (
        "DENIED",
        "purpose.not_allowed",
        "not allowed",
        2,
    )


def test_policy_changes_name_a_version_but_are_not_decisions() -> None:
    window = DecisionWindow()
    window.add(record(timedelta(minutes=5), policy_version="old"))
    window.add(
        record(
            timedelta(minutes=1),
            "POLICY_APPLIED",
            stage="POLICY",
            agreement_id=None,
            policy_version="new",
        )
    )

    versions = window.policy_versions(NOW)

    assert [v.version for v in versions] == ["new", "old"]
    assert [d.outcome for d in window.decisions(NOW)] == ["APPROVED"]
