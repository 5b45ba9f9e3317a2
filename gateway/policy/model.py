"""Data-sharing agreements as written in ``policies/*.yaml``, validated strictly.

Unknown keys are errors, so an agreement that relies on a feature the gateway does not enforce
cannot load by accident. See ``policies/README.md`` for the format in plain English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from gateway.redaction.paths import compile_paths, parse_path

__all__ = [
    "Agreement",
    "AgreementStatus",
    "KeyProblems",
    "PolicySet",
    "ProhibitedPurpose",
    "Purpose",
]

_KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_DEPARTMENT = re.compile(r"[a-z][a-z0-9_]*")


def _kebab(value: str) -> str:
    if not _KEBAB.fullmatch(value):
        raise ValueError(f"{value!r} must be lower-kebab-case, e.g. 'locate-immigration-offender'")
    return value


def _department(value: str) -> str:
    if not _DEPARTMENT.fullmatch(value):
        raise ValueError(f"{value!r} must be a lower-case department id, e.g. 'ho'")
    return value


def _query_field(value: str) -> str:
    if any(seg.array for seg in parse_path(value)):
        raise ValueError(f"query field {value!r} cannot contain '[]'")
    return value


def _field_path(value: str) -> str:
    parse_path(value)
    return value


def _as_date(value: object) -> object:
    """Accept a YAML date or an ISO ``YYYY-MM-DD`` string; nothing else (no times, no numbers)."""
    if isinstance(value, datetime) or not isinstance(value, date | str):
        raise ValueError("must be a date written as YYYY-MM-DD")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date written as YYYY-MM-DD") from None
    return value


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"listed more than once: {', '.join(duplicates)}")
    return values


class KeyProblems(ValueError):
    """Cross-field problems of one model, each tied to the key it is about.

    Raised from model validators; the loader reads ``items`` to report each problem at the line
    of its key.
    """

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[str, str]] = []

    def add(self, key: str, message: str) -> None:
        self.items.append((key, message))

    def raise_if_any(self) -> None:
        if self.items:
            self.args = ("; ".join(f"{key}: {message}" for key, message in self.items),)
            raise self


KebabId = Annotated[str, AfterValidator(_kebab)]
DepartmentId = Annotated[str, AfterValidator(_department)]
Text = Annotated[str, Field(min_length=1)]
QueryField = Annotated[str, AfterValidator(_query_field)]
FieldPath = Annotated[str, AfterValidator(_field_path)]
PolicyDate = Annotated[date, BeforeValidator(_as_date)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AgreementStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    """Temporarily stopped: nothing is shared until the status returns to active."""
    ENDED = "ended"
    """Ended or withdrawn; kept so that requests under it are denied with a clear reason."""


class Purpose(_Strict):
    """One purpose an agreement allows: what the requester may send and may receive."""

    id: KebabId
    description: Text
    subject_identifiers: Annotated[
        tuple[QueryField, ...], Field(min_length=1), AfterValidator(_unique)
    ]
    """Query fields that identify the subject; a request must carry at least one."""
    request_fields: Annotated[tuple[QueryField, ...], Field(min_length=1), AfterValidator(_unique)]
    """Query fields the requester may send for this purpose; others are removed."""
    response_fields: Annotated[tuple[FieldPath, ...], Field(min_length=1), AfterValidator(_unique)]
    """Dataset field paths the requester may receive."""

    @model_validator(mode="after")
    def _consistent(self) -> Purpose:
        problems = KeyProblems()
        missing = [f for f in self.subject_identifiers if f not in self.request_fields]
        if missing:
            problems.add("subject_identifiers", f"not in request_fields: {', '.join(missing)}")
        try:
            compile_paths(self.response_fields)
        except ValueError as exc:
            problems.add("response_fields", str(exc))
        problems.raise_if_any()
        return self


class ProhibitedPurpose(_Strict):
    """A purpose the agreement rules out, with the reason a denial quotes."""

    id: KebabId
    reason: Text


class Agreement(_Strict):
    """One data-sharing agreement between a requesting and a providing department."""

    id: KebabId
    title: Text
    requester: DepartmentId
    provider: DepartmentId
    legal_basis: Text
    reference: Text
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
    """Agreements as loaded, before compilation."""

    version: str
    """Content hash of the agreement files, naming this revision in every decision."""
    agreements: tuple[Agreement, ...]
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Agreement id -> the file it was loaded from."""

    @classmethod
    def of(
        cls, agreements: Iterable[Agreement | Mapping[str, Any]], *, version: str = "unversioned"
    ) -> PolicySet:
        """A policy set from agreements or their mappings (for tests and tools)."""
        parsed = tuple(
            a if isinstance(a, Agreement) else Agreement.model_validate(a) for a in agreements
        )
        return cls(version=version, agreements=parsed)
