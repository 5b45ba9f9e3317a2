"""The campaign's fault schedule: what the campaign promises to inject, drawn from the seed."""

from __future__ import annotations

from collections import Counter

from gateway.chaos import FaultKind, plan_faults


def test_a_schedule_kills_three_gateways_restarts_a_broker_and_adds_and_removes_a_member() -> None:
    plan = plan_faults(30.0, seed=1)

    kinds = Counter(fault.kind for fault in plan)
    assert kinds == {
        FaultKind.KILL_GATEWAY: 3,
        FaultKind.KILL_BROKER: 1,
        FaultKind.RESTART_BROKER: 1,
        FaultKind.ADD_MEMBER: 1,
        FaultKind.REMOVE_MEMBER: 1,
    }
    at = {fault.kind: fault.at_s for fault in plan}
    assert at[FaultKind.KILL_BROKER] < at[FaultKind.RESTART_BROKER]
    assert at[FaultKind.ADD_MEMBER] <= at[FaultKind.REMOVE_MEMBER]
    assert plan == sorted(plan)
    assert all(
        0 < fault.at_s < 30.0 for fault in plan if fault.kind is not FaultKind.RESTART_BROKER
    )


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert plan_faults(60.0, seed=3) == plan_faults(60.0, seed=3)
    assert plan_faults(60.0, seed=3) != plan_faults(60.0, seed=4)


def test_a_long_campaign_kills_a_gateway_for_every_minute_of_traffic() -> None:
    plan = plan_faults(1000.0, seed=1)

    assert sum(fault.kind is FaultKind.KILL_GATEWAY for fault in plan) == 16
