"""The fault schedule of a campaign: which faults, and when, drawn from the seed (pure)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["FaultKind", "PlannedFault", "plan_faults"]

_EARLIEST = 0.08
_LATEST = 0.85
"""Faults fall between these fractions of the traffic's duration, so traffic flows before the
first and the last one's repair still happens under load."""
_BROKER_DOWN_S = 6.0
_MEMBER_STAYS = (0.1, 0.25)
"""An added member leaves after this fraction of the duration."""
_SECONDS_PER_KILL = 60.0
"""One more gateway kill for every minute of traffic beyond three."""


class FaultKind(StrEnum):
    KILL_GATEWAY = "kill_gateway"
    """SIGKILL one gateway instance at random, and start a replacement."""
    KILL_BROKER = "kill_broker"
    """SIGKILL one Kafka node at random..."""
    RESTART_BROKER = "restart_broker"
    """...and start it again on its data."""
    ADD_MEMBER = "add_member"
    """Start one more gateway instance in the group..."""
    REMOVE_MEMBER = "remove_member"
    """...and stop it cleanly."""


@dataclass(frozen=True, slots=True, order=True)
class PlannedFault:
    at_s: float
    kind: FaultKind


def plan_faults(duration_s: float, seed: int) -> list[PlannedFault]:
    """At least three gateway kills (one more per minute past three), a broker killed and
    restarted, a member added and removed; ordered by time."""
    rng = random.Random(f"chaos:{seed}")
    low, high = duration_s * _EARLIEST, duration_s * _LATEST

    def at() -> float:
        return round(rng.uniform(low, high), 2)

    kills = max(3, int(duration_s / _SECONDS_PER_KILL))
    planned = [PlannedFault(at(), FaultKind.KILL_GATEWAY) for _ in range(kills)]
    broker_down = at()
    planned += [
        PlannedFault(broker_down, FaultKind.KILL_BROKER),
        PlannedFault(round(broker_down + _BROKER_DOWN_S, 2), FaultKind.RESTART_BROKER),
    ]
    added = at()
    stays = duration_s * rng.uniform(*_MEMBER_STAYS)
    planned += [
        PlannedFault(added, FaultKind.ADD_MEMBER),
        PlannedFault(round(min(added + stays, high), 2), FaultKind.REMOVE_MEMBER),
    ]
    return sorted(planned)
