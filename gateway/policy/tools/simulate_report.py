"""What a simulation found: every replayed decision that would change, and a summary per
agreement and purpose, as text, tables' rows or JSON."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway.envelope.models import Reason
from gateway.policy.tools.change import listed

__all__ = ["DecisionChange", "GroupSummary", "SimulationReport", "decision_rows"]

FIELD_KINDS: dict[str, str] = {
    "released": "newly releases",
    "withheld": "newly withholds",
    "transformed": "newly transforms",
    "untransformed": "no longer transforms",
    "sent": "now sends the provider",
    "unsent": "no longer sends the provider",
}
"""Each kind of field change, as :class:`DecisionChange` names it, and how the report says it."""


@dataclass(frozen=True, slots=True)
class DecisionChange:
    """One recorded decision the candidate policy would decide differently: in its outcome, or
    in the fields it sends the provider and releases, transforms or withholds from the reply."""

    request_id: str
    at: str
    requester: str
    provider: str
    agreement_id: str
    purpose: str
    before: str
    after: str
    reasons: tuple[Reason, ...]
    """The candidate policy's reasons."""
    query_assumed: bool
    """The replay assumed a subject identifier the audit record could not name."""
    released: tuple[str, ...] = ()
    """Response fields the recorded reply withheld that the candidate would release."""
    withheld: tuple[str, ...] = ()
    """Response fields the recorded reply released that the candidate would withhold."""
    transformed: tuple[str, ...] = ()
    """``path:transform`` the candidate would apply that the recorded reply did not."""
    untransformed: tuple[str, ...] = ()
    """``path:transform`` the recorded reply applied that the candidate would not."""
    sent: tuple[str, ...] = ()
    """Query fields the candidate would send the provider that were not sent."""
    unsent: tuple[str, ...] = ()
    """Query fields that were sent and the candidate would not send."""

    def fields(self) -> dict[str, tuple[str, ...]]:
        """The non-empty field changes, by kind (see :data:`FIELD_KINDS`)."""
        changes = {kind: getattr(self, kind) for kind in FIELD_KINDS}
        return {kind: names for kind, names in changes.items() if names}

    def fields_text(self) -> str:
        return "; ".join(f"{FIELD_KINDS[k]} {listed(v)}" for k, v in self.fields().items())

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "at": self.at,
            "requester": self.requester,
            "provider": self.provider,
            "agreement_id": self.agreement_id,
            "purpose": self.purpose,
            "before": self.before,
            "after": self.after,
            "reasons": [{"code": r.code, "message": r.message} for r in self.reasons],
            "query_assumed": self.query_assumed,
            "fields": {kind: list(names) for kind, names in self.fields().items()},
        }


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """The changes of one agreement and purpose, counted."""

    agreement_id: str
    purpose: str
    changes: tuple[DecisionChange, ...]

    def moves(self) -> str:
        """Outcome changes, e.g. ``APPROVED -> DENIED: 2``; empty when no outcome changes."""
        counted = Counter(f"{c.before} -> {c.after}" for c in self.changes if c.before != c.after)
        return ", ".join(f"{move}: {n}" for move, n in sorted(counted.items()))

    def field_counts(self) -> dict[str, Counter[str]]:
        """Per kind of field change, how many decisions it affects per field."""
        counts: dict[str, Counter[str]] = {}
        for change in self.changes:
            for kind, names in change.fields().items():
                counts.setdefault(kind, Counter()).update(names)
        return {kind: counts[kind] for kind in FIELD_KINDS if kind in counts}

    def fields_text(self) -> str:
        """``newly releases nationality (2), surname (2); ...``."""
        return "; ".join(
            f"{FIELD_KINDS[kind]} " + ", ".join(f"{name} ({n})" for name, n in sorted(c.items()))
            for kind, c in self.field_counts().items()
        )

    def line(self) -> str:
        detail = "; ".join(part for part in (self.moves(), self.fields_text()) if part)
        return f"{self.agreement_id} / {self.purpose}: {len(self.changes)} would change ({detail})"

    def to_dict(self, *, details: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "agreement_id": self.agreement_id,
            "purpose": self.purpose,
            "changed": len(self.changes),
            "outcomes": self.moves(),
            "fields": {k: dict(sorted(c.items())) for k, c in self.field_counts().items()},
        }
        if details:
            out["changes"] = [c.to_dict() for c in self.changes]
        return out


@dataclass(frozen=True, slots=True)
class SimulationReport:
    """How many records were read and replayed, and every decision that would change."""

    policy_version: str
    records: int
    replayed: int
    changes: tuple[DecisionChange, ...]
    not_rebuilt: int = 0
    """Request decisions that do not make a valid request (not replayed): field names no longer
    valid, or ids the gateway withheld from the audit log as ill-shaped or unknown."""
    unanswered: int = 0
    """Replayed approvals with no recorded reply: their response fields cannot be compared."""

    def groups(self) -> list[GroupSummary]:
        """Changes per agreement and purpose, sorted."""
        grouped: dict[tuple[str, str], list[DecisionChange]] = {}
        for change in self.changes:
            grouped.setdefault((change.agreement_id, change.purpose), []).append(change)
        return [GroupSummary(a, p, tuple(c)) for (a, p), c in sorted(grouped.items())]

    def summary(self) -> str:
        in_outcome = sum(1 for c in self.changes if c.before != c.after)
        split = (
            f" ({in_outcome} in outcome, {len(self.changes) - in_outcome} in fields only)"
            if self.changes
            else ""
        )
        skipped = f"; {self.not_rebuilt} could not be rebuilt" if self.not_rebuilt else ""
        unanswered = (
            f"; {self.unanswered} approvals have no recorded reply to compare fields with"
            if self.unanswered
            else ""
        )
        return (
            f"replayed {self.replayed} recorded request decisions (of {self.records} audit "
            f"records) under policy {self.policy_version}: {len(self.changes)} would change"
            f"{split}{skipped}{unanswered}"
        )

    def lines(self, *, details: bool = False) -> list[str]:
        out = [self.summary()]
        for group in self.groups():
            out.append(group.line())
            if details:
                out.extend(_decision_line(c) for c in group.changes)
        if self.changes and not details:
            out.append(f"(--details lists the {len(self.changes)} decisions)")
        return out

    def to_dict(self, *, details: bool = False) -> dict[str, Any]:
        return {
            "policy_version": self.policy_version,
            "records": self.records,
            "replayed": self.replayed,
            "not_rebuilt": self.not_rebuilt,
            "unanswered": self.unanswered,
            "changed": len(self.changes),
            "groups": [g.to_dict(details=details) for g in self.groups()],
        }


def _decision_line(change: DecisionChange) -> str:
    codes = ", ".join(r.code for r in change.reasons)
    note = " (query fields assumed)" if change.query_assumed else ""
    fields = change.fields_text()
    fields = f"; {fields}" if fields else ""
    move = f"{change.before} -> {change.after}"
    return f"  {change.at} {change.request_id}: {move} [{codes}]{fields}{note}"


def decision_rows(changes: Iterable[DecisionChange]) -> list[tuple[str, str, str, str]]:
    """``(recorded at, request, decision, what changes)`` per decision, for tables."""
    return [
        (
            c.at,
            c.request_id,
            f"{c.before} -> {c.after}",
            "; ".join(p for p in (", ".join(r.code for r in c.reasons), c.fields_text()) if p),
        )
        for c in changes
    ]
