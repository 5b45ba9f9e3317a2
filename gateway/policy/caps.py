"""Volume caps: how many requests one requester may have approved per hour and per day.

:func:`gateway.policy.decide` stays pure: it reads counts through a :class:`VolumeCounter` it is
given and never changes them. Whoever acts on an approval records it (the exchange processor
does, right after the decision). Windows are fixed and in UTC: the clock hour (10:00 to 10:59:59)
and the calendar day, so the counts can be rebuilt from audit timestamps alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gateway.envelope.models import AuditOutcome, AuditStage

__all__ = [
    "AuditedDecision",
    "CapKey",
    "CapLimits",
    "InMemoryVolumeCounter",
    "VolumeCounter",
    "approvals",
    "cap_key_bytes",
    "restore_from_audit",
]

CapKey = tuple[str, str, str]
"""``(agreement id, purpose, requester)``: what one cap counts."""


def cap_key_bytes(key: CapKey) -> bytes:
    """``agreement|purpose|requester``: the Kafka key that puts every request of one cap key in
    one partition of the capped topic. Agreement and purpose ids are kebab-case and departments
    identifiers, so no part contains the ``|``."""
    return "|".join(key).encode()


_HOUR = 3600
_DAY = 86400
_APPROVED = frozenset({AuditOutcome.APPROVED, AuditOutcome.APPROVED_MINIMISED})


@dataclass(frozen=True, slots=True)
class CapLimits:
    """A purpose's caps, as compiled."""

    per_hour: int | None
    per_day: int | None


class VolumeCounter(Protocol):
    """Counts approvals per :data:`CapKey` in the current UTC hour and day."""

    def usage(self, key: CapKey, now: datetime) -> tuple[int, int]:
        """Approvals recorded for ``key`` in the hour and in the day that contain ``now``."""
        ...

    def record(self, key: CapKey, at: datetime) -> None:
        """Count one approval for ``key`` made at ``at``."""
        ...


class AuditedDecision(Protocol):
    """What :func:`restore_from_audit` reads of an audit record (an ``AuditRecord`` has it)."""

    @property
    def stage(self) -> AuditStage: ...
    @property
    def outcome(self) -> AuditOutcome: ...
    @property
    def at(self) -> datetime: ...
    @property
    def agreement_id(self) -> str | None: ...
    @property
    def purpose(self) -> str | None: ...
    @property
    def requester(self) -> str | None: ...


class InMemoryVolumeCounter:
    """A :class:`VolumeCounter` in a dict: one instance's view, lost on restart unless restored.

    Only the latest window per key is kept. An approval recorded for an earlier window than the
    one already held (a late or out-of-order replay) no longer matters and is ignored; a clock
    that steps back keeps reading the later window's count, which errs towards denying.
    """

    __slots__ = ("_windows",)

    def __init__(self) -> None:
        self._windows: dict[CapKey, list[int]] = {}
        """key -> [hour index, count in that hour, day index, count in that day]."""

    def usage(self, key: CapKey, now: datetime) -> tuple[int, int]:
        window = self._windows.get(key)
        if window is None:
            return 0, 0
        seconds = int(now.timestamp())
        hour = window[1] if seconds // _HOUR <= window[0] else 0
        day = window[3] if seconds // _DAY <= window[2] else 0
        return hour, day

    def record(self, key: CapKey, at: datetime) -> None:
        seconds = int(at.timestamp())
        hour, day = seconds // _HOUR, seconds // _DAY
        window = self._windows.get(key)
        if window is None:
            self._windows[key] = [hour, 1, day, 1]
            return
        if hour > window[0]:
            window[0], window[1] = hour, 1
        elif hour == window[0]:
            window[1] += 1
        if day > window[2]:
            window[2], window[3] = day, 1
        elif day == window[2]:
            window[3] += 1

    def __len__(self) -> int:
        return len(self._windows)


def approvals(records: Iterable[AuditedDecision]) -> Iterator[tuple[CapKey, datetime]]:
    """The cap key and time of every request approval among ``records`` (audit records)."""
    for record in records:
        if record.stage is not AuditStage.REQUEST or record.outcome not in _APPROVED:
            continue
        if record.agreement_id is None or record.purpose is None or record.requester is None:
            continue
        yield (record.agreement_id, record.purpose, record.requester), record.at


def restore_from_audit(counter: VolumeCounter, records: Iterable[AuditedDecision]) -> int:
    """Record every approval in ``records`` (request-stage audit records) into ``counter``.

    Feed it the audit log from the start of the current UTC day, and the counter holds what it
    held before a restart. Returns how many approvals were recorded.
    """
    restored = 0
    for key, at in approvals(records):
        counter.record(key, at)
        restored += 1
    return restored
