"""Data-sharing agreements as written in ``policies/*.yaml``, validated strictly.

Unknown keys are errors, so an agreement that relies on a feature the gateway does not enforce
cannot load by accident. See ``policies/README.md`` for the format in plain English.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    model_validator,
)

from gateway.policy._types import (
    DepartmentId,
    FieldPath,
    KebabId,
    KeyProblems,
    PolicyDate,
    QueryField,
    Strict,
    Text,
    unique,
)
from gateway.policy.limits import Caps, SubjectConditions
from gateway.policy.prohibitions import EMPTY_GLOBAL_POLICY, GlobalPolicy
from gateway.redaction.paths import compile_paths
from gateway.redaction.plan import check_transforms
from gateway.redaction.transforms import KEEP, TransformKind, TransformSpec, parse_transform

__all__ = [
    "Agreement",
    "AgreementStatus",
    "Caps",
    "Children",
    "FieldRule",
    "KeyProblems",
    "PolicySet",
    "ProhibitedPurpose",
    "Purpose",
    "SubjectConditions",
]

ADULT_AGE = 18
"""Subjects younger than this are children."""

_DROP = TransformKind.DROP

Transform = Annotated[
    TransformSpec, PlainValidator(parse_transform), PlainSerializer(lambda s: s.as_yaml())
]


class AgreementStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    """Temporarily stopped: nothing is shared until the status returns to active."""
    ENDED = "ended"
    """Ended or withdrawn; kept so that requests under it are denied with a clear reason."""


class Children(StrEnum):
    """Whether records of subjects under 18 may be released for a purpose."""

    ALLOWED = "allowed"
    WITHHELD = "withheld"
    """The default: a child's record is withheld, with a reason."""


class FieldRule(Strict):
    """One response field path and the form it is released in."""

    path: FieldPath
    transform: Transform = KEEP


def _field_rules(value: object) -> object:
    """A bare path in ``response_fields`` is shorthand for ``{path: ..., transform: keep}``."""
    if isinstance(value, list | tuple):
        return tuple({"path": item} if isinstance(item, str) else item for item in value)
    return value


def _unique_paths(rules: tuple[FieldRule, ...]) -> tuple[FieldRule, ...]:
    unique(tuple(rule.path for rule in rules))
    return rules


class Purpose(Strict):
    """One purpose an agreement allows: what the requester may send and may receive."""

    id: KebabId
    description: Text
    category: KebabId | None = None
    """A category declared in ``global.yaml``; global prohibitions match purposes by it."""
    subject_identifiers: Annotated[
        tuple[QueryField, ...], Field(min_length=1), AfterValidator(unique)
    ]
    """Query fields that identify the subject; a request must carry at least one."""
    request_fields: Annotated[tuple[QueryField, ...], Field(min_length=1), AfterValidator(unique)]
    """Query fields the requester may send for this purpose; others are removed."""
    response_fields: Annotated[
        tuple[FieldRule, ...],
        BeforeValidator(_field_rules),
        Field(min_length=1),
        AfterValidator(_unique_paths),
    ]
    """Dataset field paths the requester may receive, each with its transform."""
    children: Children = Children.WITHHELD
    subject_conditions: SubjectConditions | None = None
    caps: Caps | None = None

    @property
    def released_paths(self) -> tuple[str, ...]:
        """The allow-list: every response field that is not dropped."""
        return tuple(r.path for r in self.response_fields if r.transform.kind is not _DROP)

    @property
    def transform_rules(self) -> tuple[tuple[str, TransformSpec], ...]:
        return tuple((r.path, r.transform) for r in self.response_fields)

    @property
    def min_age(self) -> int:
        """The youngest age whose records may be released (18 unless children are allowed)."""
        conditions = self.subject_conditions
        if conditions is not None and conditions.min_age is not None:
            return conditions.min_age
        return 0 if self.children is Children.ALLOWED else ADULT_AGE

    @model_validator(mode="after")
    def _consistent(self) -> Purpose:
        problems = KeyProblems()
        missing = [f for f in self.subject_identifiers if f not in self.request_fields]
        if missing:
            problems.add("subject_identifiers", f"not in request_fields: {', '.join(missing)}")
        self._check_response_fields(problems)
        self._check_ages(problems)
        problems.raise_if_any()
        return self

    def _check_response_fields(self, problems: KeyProblems) -> None:
        released = self.released_paths
        if not released:
            problems.add("response_fields", "every field is dropped: nothing could be released")
        try:
            compile_paths(released)
            check_transforms(self.transform_rules)
        except ValueError as exc:
            problems.add("response_fields", str(exc))
            return
        for rule in self.response_fields:
            if rule.transform.kind is TransformKind.KEEP:
                continue
            inside = [
                r.path
                for r in self.response_fields
                if r.path.startswith((rule.path + ".", rule.path + "["))
            ]
            if inside:
                verb = "dropped" if rule.transform.kind is _DROP else "transformed"
                problems.add(
                    "response_fields",
                    f"{', '.join(inside)} lies inside {rule.path!r}, which is {verb}",
                )

    def _check_ages(self, problems: KeyProblems) -> None:
        conditions = self.subject_conditions
        lowest = conditions.min_age if conditions is not None else None
        highest = conditions.max_age if conditions is not None else None
        if self.children is Children.ALLOWED:
            if lowest is not None and lowest >= ADULT_AGE:
                problems.add("children", f"'allowed' contradicts min_age {lowest}")
            return
        if lowest is not None and lowest < ADULT_AGE:
            problems.add("subject_conditions", f"min_age {lowest} needs children: allowed")
        if highest is not None and highest < ADULT_AGE:
            problems.add("subject_conditions", f"max_age {highest} needs children: allowed")


class ProhibitedPurpose(Strict):
    """A purpose the agreement rules out, with the reason a denial quotes."""

    id: KebabId
    reason: Text


class Agreement(Strict):
    """One data-sharing agreement between a requesting and a providing department."""

    id: KebabId
    title: Text
    requester: DepartmentId
    provider: DepartmentId
    legal_basis: Text
    reference: Text
    """Where the agreement and its data protection impact assessment are recorded."""
    owner: Text
    status: AgreementStatus
    valid_from: PolicyDate
    valid_until: PolicyDate | None = None
    review_by: PolicyDate | None = None
    purposes: tuple[Purpose, ...] = ()
    prohibited_purposes: tuple[ProhibitedPurpose, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Agreement:
        problems = KeyProblems()
        if self.requester == self.provider:
            problems.add("provider", "must be a different department from the requester")
        if self.valid_until is not None and self.valid_until < self.valid_from:
            problems.add("valid_until", "must not be before valid_from")
        allowed = [p.id for p in self.purposes]
        prohibited = [p.id for p in self.prohibited_purposes]
        for key, ids in (("purposes", allowed), ("prohibited_purposes", prohibited)):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                problems.add(key, f"ids must be unique: {', '.join(repeated)}")
        both = sorted(set(allowed) & set(prohibited))
        if both:
            problems.add("prohibited_purposes", f"also allowed as purposes: {', '.join(both)}")
        if not allowed and self.status is not AgreementStatus.ENDED:
            status = self.status.value
            problems.add("purposes", f"needs at least one while the agreement is {status}")
        problems.raise_if_any()
        return self


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Agreements and global rules as loaded, before compilation."""

    version: str
    """Content hash of the policy files, naming this revision in every decision."""
    agreements: tuple[Agreement, ...]
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Agreement id -> the file it was loaded from."""
    global_policy: GlobalPolicy = EMPTY_GLOBAL_POLICY
    """Categories and prohibitions that apply to every agreement (``global.yaml``)."""
    global_source: str | None = None

    @classmethod
    def of(
        cls,
        agreements: Iterable[Agreement | Mapping[str, Any]],
        *,
        version: str = "unversioned",
        global_policy: GlobalPolicy | Mapping[str, Any] | None = None,
    ) -> PolicySet:
        """A policy set from agreements or their mappings (for tests and tools)."""
        parsed = tuple(
            a if isinstance(a, Agreement) else Agreement.model_validate(a) for a in agreements
        )
        if global_policy is None:
            rules = EMPTY_GLOBAL_POLICY
        elif isinstance(global_policy, GlobalPolicy):
            rules = global_policy
        else:
            rules = GlobalPolicy.model_validate(global_policy)
        return cls(version=version, agreements=parsed, global_policy=rules)
