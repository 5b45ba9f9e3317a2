"""Conditions on the subject of a record, judged from the record itself when it comes back.

A purpose releases records of children (under 18) only if it says ``children: allowed``, and may
narrow the ages further with ``subject_conditions``. Age is counted in whole years on the day of
the response, from the record's ``date_of_birth``; a record whose age cannot be read is withheld.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from gateway.envelope.models import Reason
from gateway.policy import rules

__all__ = ["BIRTH_DATE_FIELD", "SubjectRule"]

BIRTH_DATE_FIELD = "date_of_birth"
"""The top-level dataset field the subject's age is judged from."""

_ADULT = 18


def age_on(born: date, day: date) -> int:
    """Whole years from ``born`` to ``day`` (someone born on 29 February turns a year older on
    1 March in other years)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True, slots=True)
class SubjectRule:
    """The ages a purpose releases records at; compiled only for purposes that limit them."""

    agreement_id: str
    purpose: str
    min_age: int
    """0, 18 (children withheld, the default) or the agreement's ``min_age``."""
    max_age: int | None
    children_allowed: bool

    def check(self, record: Mapping[str, Any], today: date) -> Reason | None:
        """None if the record's subject may be released today, else the reason it may not."""
        born = record.get(BIRTH_DATE_FIELD)
        if isinstance(born, datetime):
            born = born.date()
        if not isinstance(born, date):
            return rules.subject_age_unknown(self.purpose)
        age = age_on(born, today)
        if age < _ADULT and not self.children_allowed:
            return rules.subject_child(self.agreement_id, self.purpose)
        if age < self.min_age:
            return rules.subject_too_young(self.purpose, self.min_age)
        if self.max_age is not None and age > self.max_age:
            return rules.subject_too_old(self.purpose, self.max_age)
        return None
