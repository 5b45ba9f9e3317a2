"""The register of collaborations: every agreement, its parties, basis and dates, and its use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage
from gateway.policy.compiler import CompiledPolicy

__all__ = ["Register", "RegisterEntry", "Usage", "build_register", "usage_from_records"]

_APPROVED = frozenset({AuditOutcome.APPROVED, AuditOutcome.APPROVED_MINIMISED})
_ANSWERED = frozenset({AuditOutcome.RELEASED, AuditOutcome.REDACTED})


@dataclass(slots=True)
class Usage:
    """How one agreement was used, counted from audit records."""

    requests: int = 0
    """Request decisions (duplicates of an earlier request are not counted)."""
    approved: int = 0
    denied: int = 0
    answered: int = 0
    """Responses released to the requester, whole or redacted."""

    def to_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "approved": self.approved,
            "denied": self.denied,
            "answered": self.answered,
        }


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """One agreement as the register lists it."""

    id: str
    title: str
    requester: str
    provider: str
    legal_basis: str
    reference: str
    owner: str
    purposes: tuple[str, ...]
    prohibited_purposes: tuple[str, ...]
    status: str
    in_force: bool
    """Active and within its validity on the register's date."""
    valid_from: date
    valid_until: date | None
    review_by: date | None
    source: str | None
    usage: Usage | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "requester": self.requester,
            "provider": self.provider,
            "legal_basis": self.legal_basis,
            "reference": self.reference,
            "owner": self.owner,
            "purposes": list(self.purposes),
            "prohibited_purposes": list(self.prohibited_purposes),
            "status": self.status,
            "in_force": self.in_force,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": _iso(self.valid_until),
            "review_by": _iso(self.review_by),
            "source": self.source,
            "usage": self.usage.to_dict() if self.usage is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Register:
    """Every agreement of one policy revision, as of a date."""

    policy_version: str
    as_of: date
    entries: tuple[RegisterEntry, ...]
    with_usage: bool = field(default=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_version": self.policy_version,
            "as_of": self.as_of.isoformat(),
            "with_usage": self.with_usage,
            "agreements": [e.to_dict() for e in self.entries],
        }


def usage_from_records(records: Iterable[AuditRecord]) -> dict[str, Usage]:
    """Usage per agreement id, counted from audit records."""
    usage: dict[str, Usage] = {}
    for record in records:
        if record.agreement_id is None:
            continue
        counts = usage.setdefault(record.agreement_id, Usage())
        if record.stage is AuditStage.REQUEST:
            if record.outcome in _APPROVED:
                counts.requests += 1
                counts.approved += 1
            elif record.outcome is AuditOutcome.DENIED:
                counts.requests += 1
                counts.denied += 1
        elif record.stage is AuditStage.RESPONSE and record.outcome in _ANSWERED:
            counts.answered += 1
    return usage


def build_register(
    policy: CompiledPolicy, usage: Mapping[str, Usage] | None = None, *, today: date | None = None
) -> Register:
    """The register of ``policy`` as of ``today`` (default: today); with usage counts when
    ``usage`` is given (agreements without any use count zero)."""
    as_of = today or date.today()
    entries = tuple(
        RegisterEntry(
            id=a.id,
            title=a.title,
            requester=a.requester,
            provider=a.provider,
            legal_basis=a.legal_basis,
            reference=a.reference,
            owner=a.owner,
            purposes=tuple(a.purposes),
            prohibited_purposes=tuple(a.prohibited),
            status=a.status.value,
            in_force=a.in_force_on(as_of),
            valid_from=a.valid_from,
            valid_until=a.valid_until,
            review_by=a.review_by,
            source=a.source,
            usage=None if usage is None else usage.get(a.id, Usage()),
        )
        for a in policy.agreements
    )
    return Register(policy.version, as_of, entries, with_usage=usage is not None)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None
