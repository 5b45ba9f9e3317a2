"""Validated value types shared by the agreement and global policy models (private)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from gateway.envelope.models import DEPARTMENT_PATTERN
from gateway.errors import PolicyError
from gateway.redaction.paths import parse_path

__all__ = [
    "DepartmentId",
    "FieldPath",
    "KebabId",
    "KeyProblems",
    "PolicyDate",
    "QueryField",
    "Strict",
    "Text",
    "unique",
]

_KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_KEBAB_MAX = 64
"""Requests name agreements and purposes by ids of at most 64 characters
(:data:`gateway.envelope.models.POLICY_ID_PATTERN`), so a longer id could never be asked for."""
_DEPARTMENT = re.compile(DEPARTMENT_PATTERN.strip("^$"))


def _kebab(value: str) -> str:
    if not _KEBAB.fullmatch(value):
        raise ValueError(f"{value!r} must be lower-kebab-case, e.g. 'locate-immigration-offender'")
    if len(value) > _KEBAB_MAX:
        raise ValueError(f"{value!r} is longer than {_KEBAB_MAX} characters")
    return value


def _department(value: str) -> str:
    if not _DEPARTMENT.fullmatch(value):
        raise ValueError(
            f"{value!r} must be a lower-case department id of at most 32 characters, e.g. 'ho'"
        )
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


def unique(values: tuple[str, ...]) -> tuple[str, ...]:
    """Reject a list that names something twice."""
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"listed more than once: {', '.join(duplicates)}")
    return values


class KeyProblems(PolicyError, ValueError):
    """Cross-field problems of one model, each tied to the key it is about.

    Raised from model validators (a ``ValueError``, so pydantic reports it as a validation error);
    the loader reads ``items`` to report each problem at the line of its key.
    """

    code = "policy_key_problems"

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


class Strict(BaseModel):
    """Base of every policy model: unknown keys are errors, and nothing changes after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
