"""Compile a loaded :class:`PolicySet` into frozen structures that decisions read in O(1).

Compilation happens once per policy revision; :func:`gateway.policy.decide` then only looks
things up. Problems are collected, not stopped at, and raised together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from gateway.envelope.models import Reason
from gateway.errors import PolicyLoadError
from gateway.policy.model import Agreement, AgreementStatus, PolicySet, Purpose
from gateway.policy.rules import agreement_allows
from gateway.redaction.paths import PathSet, compile_paths

__all__ = ["CompiledAgreement", "CompiledPolicy", "CompiledPurpose", "compile_policies"]


@dataclass(frozen=True, slots=True, eq=False)
class CompiledPurpose:
    """One allowed purpose, ready for decisions."""

    id: str
    description: str
    subject_identifiers: tuple[str, ...]
    """Identifying query fields, in the agreement's order of preference."""
    request_fields: frozenset[str]
    response_fields: tuple[str, ...]
    """The response allow-list, normalised (sorted, no path inside another)."""
    response_paths: PathSet
    approval: Reason
    """The ``agreement.allows`` reason an approval carries."""


@dataclass(frozen=True, slots=True, eq=False)
class CompiledAgreement:
    """One agreement, ready for decisions and for listing."""

    id: str
    title: str
    requester: str
    provider: str
    legal_basis: str
    reference: str
    owner: str
    status: AgreementStatus
    valid_from: date
    valid_until: date | None
    review_by: date | None
    purposes: Mapping[str, CompiledPurpose]
    """Allowed purposes by id, in the agreement's order."""
    prohibited: Mapping[str, str]
    """Prohibited purpose id -> the reason a denial quotes."""
    source: str | None
    """The file the agreement was loaded from, when known."""

    def in_force_on(self, day: date) -> bool:
        """Whether the agreement is active and ``day`` lies within its validity."""
        return (
            self.status is AgreementStatus.ACTIVE
            and self.valid_from <= day
            and (self.valid_until is None or day <= self.valid_until)
        )


@dataclass(frozen=True, slots=True, eq=False)
class CompiledPolicy:
    """A whole policy revision: every agreement, indexed for O(1) lookup."""

    version: str
    agreements: tuple[CompiledAgreement, ...]
    """Every agreement, sorted by id (for listing)."""
    departments: tuple[str, ...]
    """Every department that is party to an agreement, sorted."""
    by_id: Mapping[str, CompiledAgreement]
    by_purpose: Mapping[tuple[str, str], CompiledPurpose]

    def agreement(self, agreement_id: str) -> CompiledAgreement | None:
        return self.by_id.get(agreement_id)

    def purpose(self, agreement_id: str, purpose: str) -> CompiledPurpose | None:
        return self.by_purpose.get((agreement_id, purpose))


def compile_policies(policy_set: PolicySet) -> CompiledPolicy:
    """Compile every agreement; raise :class:`~gateway.errors.PolicyLoadError` with all problems."""
    problems: list[str] = []
    by_id: dict[str, CompiledAgreement] = {}
    for agreement in policy_set.agreements:
        source = policy_set.sources.get(agreement.id)
        where = f"{source}: " if source else ""
        if agreement.id in by_id:
            problems.append(f"{where}agreement id '{agreement.id}' is defined more than once")
            continue
        compiled = _compile_agreement(agreement, source, where, problems)
        if compiled is not None:
            by_id[agreement.id] = compiled
    if problems:
        raise PolicyLoadError(problems)

    ordered = tuple(by_id[key] for key in sorted(by_id))
    by_purpose = {(a.id, p.id): p for a in ordered for p in a.purposes.values()}
    departments = sorted({dept for a in ordered for dept in (a.requester, a.provider)})
    return CompiledPolicy(
        version=policy_set.version,
        agreements=ordered,
        departments=tuple(departments),
        by_id=MappingProxyType({a.id: a for a in ordered}),
        by_purpose=MappingProxyType(by_purpose),
    )


def _compile_agreement(
    agreement: Agreement, source: str | None, where: str, problems: list[str]
) -> CompiledAgreement | None:
    purposes: dict[str, CompiledPurpose] = {}
    for purpose in agreement.purposes:
        try:
            purposes[purpose.id] = _compile_purpose(agreement, purpose)
        except ValueError as exc:
            problems.append(f"{where}agreement '{agreement.id}' purpose '{purpose.id}': {exc}")
    if len(purposes) != len(agreement.purposes):
        return None
    return CompiledAgreement(
        id=agreement.id,
        title=agreement.title,
        requester=agreement.requester,
        provider=agreement.provider,
        legal_basis=agreement.legal_basis,
        reference=agreement.reference,
        owner=agreement.owner,
        status=agreement.status,
        valid_from=agreement.valid_from,
        valid_until=agreement.valid_until,
        review_by=agreement.review_by,
        purposes=MappingProxyType(purposes),
        prohibited=MappingProxyType({p.id: p.reason for p in agreement.prohibited_purposes}),
        source=source,
    )


def _compile_purpose(agreement: Agreement, purpose: Purpose) -> CompiledPurpose:
    paths = compile_paths(purpose.response_fields)
    return CompiledPurpose(
        id=purpose.id,
        description=purpose.description,
        subject_identifiers=purpose.subject_identifiers,
        request_fields=frozenset(purpose.request_fields),
        response_fields=paths.paths,
        response_paths=paths,
        approval=agreement_allows(
            agreement.id, purpose.id, agreement.requester, agreement.provider
        ),
    )
