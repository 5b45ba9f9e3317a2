"""Reporting periods: ``2026``, ``2026-Q4``, ``2026-11``, ``2026-11-05``, ``last-30-days``.

A period is a half-open UTC interval ``[start, end)``, so consecutive periods never share a
decision. Times given on the command line (``--since``, ``--until``) are ISO 8601; without a
zone they are read as UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from gateway.errors import ConfigError

__all__ = ["PERIOD_FORMS", "Period", "parse_period", "parse_time"]

PERIOD_FORMS = "YYYY, YYYY-Qn, YYYY-MM, YYYY-MM-DD or last-N-days"

_YEAR = re.compile(r"(\d{4})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_LAST_DAYS = re.compile(r"last-(\d{1,4})-days?")


@dataclass(frozen=True, slots=True)
class Period:
    """A named UTC interval: from ``start`` (inclusive) to ``end`` (exclusive)."""

    label: str
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)


def parse_period(text: str, *, now: datetime | None = None) -> Period:
    """The period ``text`` names; ``last-N-days`` ends at ``now`` (default: the current time).

    Raises :class:`~gateway.errors.ConfigError` naming the accepted forms.
    """
    label = text.strip()
    try:
        if m := _YEAR.fullmatch(label):
            year = int(m[1])
            return Period(label, _midnight(year, 1), _midnight(year + 1, 1))
        if m := _QUARTER.fullmatch(label):
            year, quarter = int(m[1]), int(m[2])
            first = 3 * quarter - 2
            return Period(label.upper(), _midnight(year, first), _month_after(year, first + 2))
        if m := _MONTH.fullmatch(label):
            year, month = int(m[1]), int(m[2])
            return Period(label, _midnight(year, month), _month_after(year, month))
        if _DAY.fullmatch(label):
            day = date.fromisoformat(label)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return Period(label, start, start + timedelta(days=1))
        if m := _LAST_DAYS.fullmatch(label.lower()):
            end = now or datetime.now(UTC)
            return Period(label.lower(), end - timedelta(days=int(m[1])), end)
    except ValueError:
        pass  # a month 13, a 30 February: reported below like any other unreadable period
    raise ConfigError(f"period {text!r} is not one of {PERIOD_FORMS} (e.g. 2026-11, 2026-Q4)")


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or time as an aware datetime (UTC when no zone is given)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"time {text!r} is not ISO 8601 (e.g. 2026-11-05 or 2026-11-05T14:30:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _midnight(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def _month_after(year: int, month: int) -> datetime:
    return _midnight(year + 1, 1) if month == 12 else _midnight(year, month + 1)
