"""Compile a loaded :class:`PolicySet` into frozen structures that decisions read in O(1).

Compilation happens once per policy revision; :func:`gateway.policy.decide` then only looks
things up. Field paths and transforms are checked against the providers' dataset schemas, and
global prohibitions are matched to purposes here, not per request. Problems are collected, not
stopped at, and raised together, each naming its file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from gateway.envelope.models import Reason
from gateway.errors import PolicyLoadError
from gateway.policy import rules
from gateway.policy.caps import CapLimits
from gateway.policy.conditions import SubjectRule
from gateway.policy.datasets import DatasetShape, shipped_datasets
from gateway.policy.model import Agreement, AgreementStatus, Children, PolicySet, Purpose
from gateway.policy.prohibitions import GlobalPolicy
from gateway.policy.schema_check import purpose_problems
from gateway.redaction.paths import PathSet, compile_paths
from gateway.redaction.plan import TransformPlan, compile_transforms
from gateway.redaction.transforms import TransformKind, derive_pseudonym_key

__all__ = ["CompiledAgreement", "CompiledPolicy", "CompiledPurpose", "compile_policies"]


@dataclass(frozen=True, slots=True, eq=False)
class CompiledPurpose:
    """One allowed purpose, ready for decisions."""

    id: str
    description: str
    category: str | None
    subject_identifiers: tuple[str, ...]
    """Identifying query fields, in the agreement's order of preference."""
    request_fields: frozenset[str]
    response_fields: tuple[str, ...]
    """The response allow-list, normalised (sorted, no path inside another, dropped paths out)."""
    response_paths: PathSet
    transforms: TransformPlan
    """What released fields are transformed into (empty when all are kept as they are)."""
    subject: SubjectRule | None
    """Ages whose records may be released; None when any age may."""
    caps: CapLimits | None
    prohibited_globally: tuple[Reason, ...]
    """``prohibition.global`` reasons of every global prohibition covering this purpose."""
    approval: Reason
    """The ``agreement.allows`` reason an approval carries."""
    digest: str
    """Hash of the purpose as written, to tell which purposes a new revision changed."""


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
    prohibited_globally: tuple[Reason, ...]
    """Global prohibitions covering the parties whatever the purpose (they name no category)."""
    source: str | None
    """The file the agreement was loaded from, when known."""
    digest: str
    """Hash of the agreement as written."""

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
    global_policy: GlobalPolicy
    global_digest: str
    """Hash of the global rules as written."""
    capped: frozenset[tuple[str, str]] = frozenset()
    """``(agreement id, purpose)`` of every purpose with volume caps: one set lookup tells the
    processor whether a request must go to the instance that owns its cap counter."""
    purpose_ids: frozenset[str] = frozenset()
    """Every purpose id an agreement names, allowed or prohibited: the purposes a reason may name
    as they were asked for (others are withheld from the audit log)."""
    party_ids: frozenset[str] = frozenset()
    """``departments`` as a set, for the same check."""

    def agreement(self, agreement_id: str) -> CompiledAgreement | None:
        return self.by_id.get(agreement_id)

    def purpose(self, agreement_id: str, purpose: str) -> CompiledPurpose | None:
        return self.by_purpose.get((agreement_id, purpose))


def compile_policies(
    policy_set: PolicySet,
    *,
    datasets: Mapping[str, DatasetShape] | None = None,
    pseudonym_secret: bytes | None = None,
) -> CompiledPolicy:
    """Compile every agreement; raise :class:`~gateway.errors.PolicyLoadError` with all problems.

    ``datasets`` maps each provider to its dataset's shape (default: the shipped schemas).
    ``pseudonym_secret`` is the gateway secret pseudonym keys are derived from; an agreement
    that pseudonymises a field does not compile without it.
    """
    shapes = datasets if datasets is not None else shipped_datasets()
    problems: list[str] = []
    by_id: dict[str, CompiledAgreement] = {}
    context = _Context(policy_set.global_policy, shapes, pseudonym_secret, problems)
    for agreement in policy_set.agreements:
        source = policy_set.sources.get(agreement.id)
        where = f"{source}: " if source else ""
        if agreement.id in by_id:
            problems.append(f"{where}agreement id '{agreement.id}' is defined more than once")
            continue
        compiled = context.agreement(agreement, source, where)
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
        global_policy=policy_set.global_policy,
        global_digest=_digest(policy_set.global_policy.model_dump(mode="json")),
        capped=frozenset(key for key, purpose in by_purpose.items() if purpose.caps is not None),
        purpose_ids=frozenset(purpose for a in ordered for purpose in (*a.purposes, *a.prohibited)),
        party_ids=frozenset(departments),
    )


class _Context:
    """What compiling one agreement needs to know about the rest of the policy set."""

    def __init__(
        self,
        global_policy: GlobalPolicy,
        shapes: Mapping[str, DatasetShape],
        secret: bytes | None,
        problems: list[str],
    ) -> None:
        self.global_policy = global_policy
        self.shapes = shapes
        self.secret = secret
        self.problems = problems

    def agreement(
        self, agreement: Agreement, source: str | None, where: str
    ) -> CompiledAgreement | None:
        shape = self.shapes.get(agreement.provider)
        if shape is None and agreement.purposes:
            self.problems.append(
                f"{where}agreement '{agreement.id}': provider '{agreement.provider}' has no "
                "dataset schema, so its fields cannot be checked"
            )
            return None
        purposes: dict[str, CompiledPurpose] = {}
        for purpose in agreement.purposes:
            prefix = f"{where}agreement '{agreement.id}' purpose '{purpose.id}': "
            assert shape is not None
            found = purpose_problems(purpose, shape, self.global_policy)
            self.problems.extend(prefix + problem for problem in found)
            if found:
                continue
            try:
                purposes[purpose.id] = self.purpose(agreement, purpose)
            except ValueError as exc:
                self.problems.append(prefix + str(exc))
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
            prohibited_globally=self.prohibitions(agreement, None, any_category=False),
            source=source,
            digest=_digest(agreement.model_dump(mode="json")),
        )

    def purpose(self, agreement: Agreement, purpose: Purpose) -> CompiledPurpose:
        uses_pseudonyms = any(
            rule.transform.kind is TransformKind.PSEUDONYM for rule in purpose.response_fields
        )
        if uses_pseudonyms and self.secret is None:
            raise ValueError("pseudonym transforms need the gateway's pseudonym secret")
        key = derive_pseudonym_key(self.secret, agreement.id) if self.secret else None
        paths = compile_paths(purpose.released_paths)
        conditions = purpose.subject_conditions
        max_age = conditions.max_age if conditions is not None else None
        children = purpose.children is Children.ALLOWED
        subject = None
        if purpose.min_age > 0 or max_age is not None:
            subject = SubjectRule(agreement.id, purpose.id, purpose.min_age, max_age, children)
        caps = purpose.caps
        return CompiledPurpose(
            id=purpose.id,
            description=purpose.description,
            category=purpose.category,
            subject_identifiers=purpose.subject_identifiers,
            request_fields=frozenset(purpose.request_fields),
            response_fields=paths.paths,
            response_paths=paths,
            transforms=compile_transforms(purpose.transform_rules, pseudonym_key=key),
            subject=subject,
            caps=CapLimits(caps.per_hour, caps.per_day) if caps is not None else None,
            prohibited_globally=self.prohibitions(agreement, purpose.category, any_category=True),
            approval=rules.agreement_allows(
                agreement.id, purpose.id, agreement.requester, agreement.provider
            ),
            digest=_digest(purpose.model_dump(mode="json")),
        )

    def prohibitions(
        self, agreement: Agreement, category: str | None, *, any_category: bool
    ) -> tuple[Reason, ...]:
        """Reasons of the global prohibitions covering ``agreement`` for ``category``; with
        ``any_category`` false, only those that name no category at all."""
        return tuple(
            rules.prohibition_global(p.id, p.reason)
            for p in self.global_policy.prohibitions
            if (any_category or not p.categories)
            and p.covers(agreement.requester, agreement.provider, category)
        )


def _digest(document: object) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
