"""Audit records of the last hour, counted per second: decisions, refusal reasons, policy versions.

Pure and incremental: a reader feeds each audit record once as it reads the topic's tail, and asks
for counts as of any moment. Memory is bounded by the span (one bucket per second that saw a
record), not by the traffic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.operations.snapshot import DecisionCount, PolicyVersionSeen, RefusalReason

__all__ = ["WINDOW", "DecisionWindow"]

WINDOW = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
_REFUSALS = frozenset({"DENIED", "BLOCKED"})
_POLICY_STAGE = "POLICY"


@dataclass(slots=True)
class _Second:
    decisions: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)


class DecisionWindow:
    """Counts of the audit records fed in, by the second of their decision time."""

    __slots__ = ("_messages", "_seconds", "_span", "_version_last")

    def __init__(self, span: timedelta = WINDOW) -> None:
        self._span = span
        self._seconds: dict[int, _Second] = {}
        self._messages: dict[tuple[str, str], str] = {}
        """(outcome, code) -> one message given with it."""
        self._version_last: dict[str, int] = {}
        """Policy version -> the latest second a record named it."""

    def add(self, record: Mapping[str, Any]) -> None:
        """One audit record's fields as the codec decodes them (outcome and stage as symbols,
        ``at`` an aware datetime, reasons as ``{"code", "message"}`` mappings)."""
        at: datetime = record["at"]
        second = int(at.timestamp())
        bucket = self._seconds.get(second)
        if bucket is None:
            bucket = self._seconds[second] = _Second()
        version = record["policy_version"]
        bucket.versions[version] += 1
        if second > self._version_last.get(version, -1):
            self._version_last[version] = second
        if record["stage"] == _POLICY_STAGE:
            return  # a policy change, not a decision about an exchange
        outcome = record["outcome"]
        bucket.decisions[record["agreement_id"], outcome] += 1
        if outcome in _REFUSALS:
            for reason in record["reasons"]:
                key = (outcome, reason["code"])
                bucket.reasons[key] += 1
                self._messages.setdefault(key, reason["message"])

    def prune(self, now: datetime) -> None:
        """Forget seconds older than the span before ``now``."""
        oldest = int((now - self._span).timestamp())
        for second in [s for s in self._seconds if s < oldest]:
            del self._seconds[second]
        for version in [v for v, s in self._version_last.items() if s < oldest]:
            del self._version_last[version]

    def decisions(self, now: datetime) -> tuple[DecisionCount, ...]:
        """Per agreement and outcome: records in the last minute and in the span before ``now``."""
        hour, minute = self._sum(now, "decisions", self._span), self._sum(now, "decisions", MINUTE)
        return tuple(
            DecisionCount(agreement, outcome, minute.get((agreement, outcome), 0), count)
            for (agreement, outcome), count in sorted(
                hour.items(), key=lambda kv: (kv[0][0] or "~", kv[0][1])
            )
        )

    def reasons(self, now: datetime) -> tuple[RefusalReason, ...]:
        """Refusal reasons in the span, most frequent first."""
        counts = self._sum(now, "reasons", self._span)
        return tuple(
            RefusalReason(outcome, code, self._messages.get((outcome, code), ""), n)
            for (outcome, code), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        )

    def policy_versions(self, now: datetime) -> tuple[PolicyVersionSeen, ...]:
        """Versions named in the span, the most recently seen first."""
        counts = self._sum(now, "versions", self._span)
        seen = [
            PolicyVersionSeen(v, n, datetime.fromtimestamp(self._version_last[v], UTC))
            for v, n in counts.items()
            if v in self._version_last
        ]
        return tuple(sorted(seen, key=lambda v: (v.last_seen, v.records), reverse=True))

    def _sum(self, now: datetime, kind: str, span: timedelta) -> Counter[Any]:
        oldest = int((now - span).timestamp())
        total: Counter[Any] = Counter()
        for second, bucket in self._seconds.items():
            if second >= oldest:
                total.update(getattr(bucket, kind))
        return total
