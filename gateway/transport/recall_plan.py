"""Which records of the output topics to recall at start, and where the replay horizon must go.

Pure: it takes what the broker said about each partition and the memory's capacity, and returns
what to read. :mod:`gateway.transport.recall` does the reading. The rules, for one partition
whose records from ``window_start`` on carry a timestamp inside the last token lifetime:

- the records from ``window_start`` to the end are read, unless all partitions together hold
  more than the memory can (a reply costs up to two keys, an inbox record one): then each keeps
  the newest records in proportion to its share (at least one), and a replies partition cut
  this way cannot vouch for what came before;
- a replies partition whose retained data begins inside the window (its log start is past 0 and
  is the window's first record, or the partition is empty) may have lost releases to deletion,
  unless its retention is known to keep more than the window;
- a replies partition that cannot vouch moves the horizon to its first record read (plus the
  clock skew allowed), or, with nothing left to read, to the start of the recall.

Inbox partitions cost memory but never move the horizon: only replies prove a release.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

__all__ = ["PartitionReach", "RecallRead", "plan_recall", "retention_keeps"]

_P = TypeVar("_P", bound=Hashable)


@dataclass(frozen=True, slots=True)
class PartitionReach:
    """What the broker says about one output partition."""

    start: int
    """Log start offset: records before it were deleted."""
    end: int
    window_start: int | None
    """First offset whose timestamp is inside the window; None when the broker cannot say, so
    everything retained is read."""
    vouches: bool
    """A replies partition: whether it reaches back far enough decides the horizon."""
    retention_covers: bool = False
    """The topic's retention is known to keep more than the window, so nothing deleted from it
    can still be replayed."""


@dataclass(frozen=True, slots=True)
class RecallRead:
    """What to do with one partition."""

    first: int
    """First offset to read (``first == end``: nothing)."""
    end: int
    cannot_vouch: bool
    """Releases before ``first`` may be unknown: the horizon moves to the first record read, or
    to the recall's start if nothing is read."""


def plan_recall(reach: Mapping[_P, PartitionReach], capacity: int) -> dict[_P, RecallRead]:
    """Per partition, the records to read into a memory of ``capacity`` keys."""
    origins = {tp: r.start if r.window_start is None else r.window_start for tp, r in reach.items()}
    sizes = {tp: max(0, r.end - origins[tp]) for tp, r in reach.items()}
    # An answer is remembered as its request and its response: two keys per reply at most.
    total = sum(size * (2 if reach[tp].vouches else 1) for tp, size in sizes.items())
    plan: dict[_P, RecallRead] = {}
    for tp, r in reach.items():
        origin, size = origins[tp], sizes[tp]
        keep = size if total <= capacity else min(size, max(1, capacity * size // total))
        first = r.end - keep
        cut = first > origin
        deleted = r.start > 0 and origin <= r.start and not r.retention_covers
        plan[tp] = RecallRead(first=first, end=r.end, cannot_vouch=r.vouches and (cut or deleted))
    return plan


def retention_keeps(config: Mapping[str, str | None], window: timedelta) -> bool:
    """Whether a topic configured so (``cleanup.policy``, ``retention.ms``, ``retention.bytes``)
    keeps every record longer than ``window``: deletion by time only, and long enough."""
    try:
        retention_ms = int(config.get("retention.ms") or 0)
        retention_bytes = int(config.get("retention.bytes") or 0)
    except ValueError:
        return False
    return (
        config.get("cleanup.policy") == "delete"
        and retention_bytes < 0
        and (retention_ms < 0 or retention_ms >= window // timedelta(milliseconds=1))
    )
