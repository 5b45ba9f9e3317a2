"""Input gaps: offsets of an input partition that the gateway never read.

Kafka offsets of a partition the gateway consumes are contiguous (its inputs are neither
compacted nor transactional), so a jump means records were deleted before the gateway read them:
by retention on a cluster, or by the embedded broker's 5 MB per-partition limit when the gateway
lags. A gap is audited, never silently skipped. (Were a department to write its requests with a
transactional producer, each commit marker would take an offset and show as a one-record gap.)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InputGap", "InputGapDetector"]


@dataclass(frozen=True, slots=True)
class InputGap:
    """Offsets ``first`` to ``last`` (inclusive) of one input partition were never read."""

    topic: str
    partition: int
    first: int
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    def describe(self) -> str:
        return (
            f"offsets {self.first}-{self.last} ({self.count} record(s)) of {self.topic} "
            f"partition {self.partition} were never read: deleted before the gateway got to them"
        )


class InputGapDetector:
    """Remembers the next offset expected per input partition and reports jumps past it.

    An offset at or below the expected one (a redelivery after a restart) is not a gap.
    """

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next: dict[tuple[str, int], int] = {}

    def expect(self, topic: str, partition: int, next_offset: int) -> None:
        """The next record of this partition should be at ``next_offset`` (the committed one)."""
        self._next[(topic, partition)] = next_offset

    def observe(self, topic: str, partition: int, offset: int) -> InputGap | None:
        """Record that ``offset`` was read; the gap before it, if any."""
        key = (topic, partition)
        expected = self._next.get(key)
        self._next[key] = offset + 1
        if expected is not None and offset > expected:
            return InputGap(topic, partition, expected, offset - 1)
        return None

    def forget(self, topic: str, partition: int) -> None:
        """Stop tracking a partition (it moved to another instance)."""
        self._next.pop((topic, partition), None)

    def tracks(self, topic: str, partition: int) -> bool:
        return (topic, partition) in self._next
