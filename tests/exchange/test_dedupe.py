"""The de-duplication memory and its replay horizon: what it forgets, it stops vouching for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.exchange.dedupe import SeenIds

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_a_key_seen_before_is_recognised_until_it_is_evicted() -> None:
    seen = SeenIds(capacity=2)

    assert seen.add("a") and not seen.add("a")
    seen.add("b")
    seen.add("c")

    assert "a" not in seen and "b" in seen and "c" in seen


def test_the_horizon_is_the_latest_time_of_anything_evicted_whatever_the_eviction_order() -> None:
    seen = SeenIds(capacity=1)
    seen.add("late", T0 + timedelta(hours=2))
    seen.add("early", T0)  # evicts "late"
    seen.add("next", T0 + timedelta(hours=1))  # evicts "early"

    assert seen.horizon == T0 + timedelta(hours=2)
    assert seen.before_horizon(T0 + timedelta(hours=2))
    assert not seen.before_horizon(T0 + timedelta(hours=2, milliseconds=1))


def test_keys_without_a_time_and_discarded_keys_leave_the_horizon_alone() -> None:
    seen = SeenIds(capacity=1)
    seen.add("request-1")
    seen.add("request-2")  # evicts a key without a time
    seen.add("response-1", T0)
    seen.discard("response-1")  # an unwritten batch: never released

    assert seen.horizon is None
    assert not seen.before_horizon(T0 - timedelta(days=365))
