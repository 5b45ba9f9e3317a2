"""Replay recorded request decisions under a candidate policy and report those that change.

Audit records carry field names, never values, and decisions depend only on names: each
request-stage record is rebuilt into a request skeleton (the query fields it named, with
placeholder values; the response fields it asked for) and decided again at its recorded time.
Requests are replayed in time order with a fresh volume counter, so caps apply as they would
have. A denial records no query fields it kept; when the denial was not for a missing identifier,
the replay assumes the request carried the purpose's first subject identifier, and says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage, ExchangeRequest, Reason
from gateway.policy.caps import InMemoryVolumeCounter
from gateway.policy.clock import DEFAULT_SENT_AT_WINDOW, SentAtWindow
from gateway.policy.compiler import CompiledPolicy
from gateway.policy.decision import decide
from gateway.policy.rules import Rule
from gateway.policy.tools.explain import PLACEHOLDER

__all__ = ["DecisionChange", "SimulationReport", "request_skeleton", "simulate"]

_DECISIONS = frozenset(
    {AuditOutcome.APPROVED, AuditOutcome.APPROVED_MINIMISED, AuditOutcome.DENIED}
)
_NO_IDENTIFIER = Rule.NO_SUBJECT_IDENTIFIER.value


@dataclass(frozen=True, slots=True)
class DecisionChange:
    """One recorded decision that the candidate policy would decide differently."""

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
        }


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

    def groups(self) -> dict[tuple[str, str], list[DecisionChange]]:
        """Changes per ``(agreement id, purpose)``, sorted."""
        grouped: dict[tuple[str, str], list[DecisionChange]] = {}
        for change in self.changes:
            grouped.setdefault((change.agreement_id, change.purpose), []).append(change)
        return dict(sorted(grouped.items()))

    def summary(self) -> str:
        skipped = f"; {self.not_rebuilt} could not be rebuilt" if self.not_rebuilt else ""
        return (
            f"replayed {self.replayed} recorded request decisions (of {self.records} audit "
            f"records) under policy {self.policy_version}: {len(self.changes)} would change"
            f"{skipped}"
        )

    def lines(self) -> list[str]:
        out = [self.summary()]
        for (agreement_id, purpose), changes in self.groups().items():
            out.append(
                f"{agreement_id} / {purpose}: {len(changes)} would change ({_moves(changes)})"
            )
            for c in changes:
                codes = ", ".join(r.code for r in c.reasons)
                note = " (query fields assumed)" if c.query_assumed else ""
                out.append(f"  {c.at} {c.request_id}: {c.before} -> {c.after} [{codes}]{note}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_version": self.policy_version,
            "records": self.records,
            "replayed": self.replayed,
            "not_rebuilt": self.not_rebuilt,
            "changed": len(self.changes),
            "groups": [
                {
                    "agreement_id": agreement_id,
                    "purpose": purpose,
                    "changed": len(changes),
                    "changes": [c.to_dict() for c in changes],
                }
                for (agreement_id, purpose), changes in self.groups().items()
            ],
        }


def simulate(
    policy: CompiledPolicy,
    records: Iterable[AuditRecord],
    *,
    sent_at_window: SentAtWindow = DEFAULT_SENT_AT_WINDOW,
) -> SimulationReport:
    """Decide every recorded request decision in ``records`` again under ``policy``, at the
    time the gateway received it (its ``at``) and with the ``sent_at`` it recorded."""
    read = 0
    replayable: list[AuditRecord] = []
    for record in records:
        read += 1
        if _replayable(record):
            replayable.append(record)
    replayable.sort(key=lambda r: r.at)
    volume = InMemoryVolumeCounter()
    changes: list[DecisionChange] = []
    not_rebuilt = 0
    for record in replayable:
        try:
            request, assumed = request_skeleton(record, policy)
        except ValidationError:
            not_rebuilt += 1
            continue
        sender = _sender(record)
        decision = decide(
            policy,
            request,
            sender=sender,
            now=record.at,
            volume=volume,
            sent_at_window=sent_at_window,
        )
        if decision.cap_key is not None:
            volume.record(decision.cap_key, record.at)
        if decision.outcome is not record.outcome:
            changes.append(
                DecisionChange(
                    request_id=request.request_id,
                    at=record.at.isoformat(),
                    requester=request.requester,
                    provider=request.provider,
                    agreement_id=request.agreement_id,
                    purpose=request.purpose,
                    before=record.outcome.value,
                    after=decision.outcome.value,
                    reasons=decision.reasons,
                    query_assumed=assumed,
                )
            )
    replayed = len(replayable) - not_rebuilt
    return SimulationReport(policy.version, read, replayed, tuple(changes), not_rebuilt)


def request_skeleton(record: AuditRecord, policy: CompiledPolicy) -> tuple[ExchangeRequest, bool]:
    """The request a request-stage record decided, with placeholder values; and whether a
    subject identifier had to be assumed (see the module notes)."""
    names = set(record.fields_released) | set(record.fields_withheld)
    assumed = False
    codes = {r.code for r in record.reasons}
    if record.outcome is AuditOutcome.DENIED and _NO_IDENTIFIER not in codes:
        purpose = policy.purpose(record.agreement_id or "", record.purpose or "")
        if purpose is not None and not names & set(purpose.subject_identifiers):
            names.add(purpose.subject_identifiers[0])
            assumed = True
    request = ExchangeRequest(
        request_id=record.request_id or record.decision_id,
        requester=record.requester or _sender(record),
        provider=record.provider or "",
        agreement_id=record.agreement_id or "",
        purpose=record.purpose or "",
        query={name: PLACEHOLDER for name in sorted(names)},
        wanted=list(record.fields_requested),
        sent_at=record.at if record.sent_at is None else record.sent_at,
    )
    return request, assumed


def _replayable(record: AuditRecord) -> bool:
    return (
        record.stage is AuditStage.REQUEST
        and record.outcome in _DECISIONS
        and record.agreement_id is not None
        and record.purpose is not None
    )


def _sender(record: AuditRecord) -> str:
    """The department whose request topic the request arrived on (``<prefix>.requests.<d>``)."""
    parts = record.input_topic.split(".")
    if len(parts) >= 3 and parts[-2] == "requests":
        return parts[-1]
    return record.requester or ""


def _moves(changes: Iterable[DecisionChange]) -> str:
    counted = Counter(f"{c.before} -> {c.after}" for c in changes)
    return ", ".join(f"{move}: {n}" for move, n in sorted(counted.items()))
