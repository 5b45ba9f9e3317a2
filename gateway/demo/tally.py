"""Live counts per agreement, built from audit records (what an operator watches)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage

__all__ = ["AgreementTally", "AuditTally"]

_APPROVALS = (AuditOutcome.APPROVED, AuditOutcome.APPROVED_MINIMISED)


@dataclass(slots=True)
class AgreementTally:
    """What happened under one agreement."""

    approved: int = 0
    minimised: int = 0
    denied: Counter[str] = field(default_factory=Counter)
    """Denials by reason code (a denial with several reasons counts under each)."""
    answered: int = 0
    redacted: int = 0
    withheld_fields: Counter[str] = field(default_factory=Counter)
    blocked: int = 0
    duplicates: int = 0
    denials: int = 0


@dataclass(slots=True)
class AuditTally:
    """Counts per agreement plus the input that never became an exchange."""

    agreements: dict[str, AgreementTally] = field(default_factory=dict)
    dead_letters: int = 0
    records: int = 0

    def add(self, record: AuditRecord) -> None:
        self.records += 1
        if record.stage is AuditStage.INPUT:
            self.dead_letters += record.outcome is AuditOutcome.DEAD_LETTERED
            return
        tally = self.agreements.setdefault(record.agreement_id or "(none)", AgreementTally())
        outcome = record.outcome
        if outcome is AuditOutcome.DUPLICATE:
            tally.duplicates += 1
        elif record.stage is AuditStage.REQUEST:
            if outcome in _APPROVALS:
                tally.approved += 1
                tally.minimised += outcome is AuditOutcome.APPROVED_MINIMISED
            elif outcome is AuditOutcome.DENIED:
                tally.denials += 1
                tally.denied.update(r.code for r in record.reasons)
        elif outcome in (AuditOutcome.RELEASED, AuditOutcome.REDACTED):
            tally.answered += 1
            if outcome is AuditOutcome.REDACTED:
                tally.redacted += 1
                tally.withheld_fields.update(record.fields_withheld)
        elif outcome is AuditOutcome.BLOCKED:
            tally.blocked += 1
