"""What the console's compliance pages show, worked out from the tools' data (no web framework).

- :func:`register_view`: the register of collaborations
  (:func:`gateway.policy.tools.build_register`) with usage counted from the audit store,
  this hour's and today's approvals against each purpose's caps, and warnings for agreements
  near their end or review;
- :func:`decision_query`: a search form's fields as a :class:`DecisionQuery`, one page of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from gateway.audit_store import APPROVALS, DecisionQuery, Tally
from gateway.envelope.models import AuditOutcome
from gateway.errors import ConfigError
from gateway.policy.tools import Register, RegisterEntry, Usage

__all__ = [
    "PAGE_SIZE",
    "CapLine",
    "RegisterRow",
    "decision_query",
    "register_view",
    "usage_from_tally",
]

NEAR_END_DAYS = 60
"""An agreement whose validity or review date is this close gets a warning."""
NEAR_CAP = 0.8
PAGE_SIZE = 25
_ANSWERED = ("RELEASED", "REDACTED")


@dataclass(frozen=True, slots=True)
class CapLine:
    """One purpose's use of one cap in the current window."""

    purpose: str
    window: str
    """``hour`` or ``day``."""
    limit: int
    used: int

    @property
    def share(self) -> float:
        return self.used / self.limit if self.limit else 1.0


@dataclass(frozen=True, slots=True)
class RegisterRow:
    entry: RegisterEntry
    caps: tuple[CapLine, ...]
    warnings: tuple[str, ...]


def usage_from_tally(tally: Tally) -> dict[str, Usage]:
    """Usage per agreement, counted as :func:`gateway.policy.tools.usage_from_records` counts:
    requests approved or denied, and answers released whole or redacted."""
    usage: dict[str, Usage] = {}
    approvals = {o.value for o in APPROVALS}
    for c in tally.outcomes:
        if c.agreement_id is None:
            continue
        u = usage.setdefault(c.agreement_id, Usage())
        if c.outcome in approvals:
            u.requests += c.count
            u.approved += c.count
        elif c.outcome == AuditOutcome.DENIED.value:
            u.requests += c.count
            u.denied += c.count
        elif c.outcome in _ANSWERED:
            u.answered += c.count
    return usage


def register_view(
    register: Register,
    caps: Mapping[tuple[str, str], Mapping[str, int]],
    today: Tally,
    now: datetime,
) -> list[RegisterRow]:
    """Each agreement with its caps in use and its warnings.

    ``today``: the store's tally from the start of the UTC day to ``now``; ``caps``: as
    :func:`gateway.audit_store.reports.caps_from_policy` gives them.
    """
    hour = now.replace(minute=0, second=0, microsecond=0)
    approved_hour: dict[tuple[str, str], int] = {}
    approved_day: dict[tuple[str, str], int] = {}
    for v in today.approved_per_hour:
        key = (v.agreement_id, v.purpose)
        approved_day[key] = approved_day.get(key, 0) + v.count
        if v.hour == hour:
            approved_hour[key] = approved_hour.get(key, 0) + v.count
    rows = []
    for entry in register.entries:
        lines = []
        for purpose in entry.purposes:
            limits = caps.get((entry.id, purpose), {})
            for window, used in (("hour", approved_hour), ("day", approved_day)):
                if window in limits:
                    lines.append(
                        CapLine(purpose, window, limits[window], used.get((entry.id, purpose), 0))
                    )
        rows.append(RegisterRow(entry, tuple(lines), _warnings(entry, lines, register.as_of)))
    return rows


def _warnings(entry: RegisterEntry, caps: list[CapLine], today: date) -> tuple[str, ...]:
    found = []
    if not entry.in_force:
        if entry.status != "active":
            found.append(f"not in force: status {entry.status}")
        elif entry.valid_until is not None and entry.valid_until < today:
            found.append(f"not in force: ended {entry.valid_until.isoformat()}")
        else:
            found.append(f"not in force until {entry.valid_from.isoformat()}")
    elif entry.valid_until is not None and (entry.valid_until - today).days <= NEAR_END_DAYS:
        days = (entry.valid_until - today).days
        found.append(f"ends {entry.valid_until.isoformat()} (in {days} day{'s' * (days != 1)})")
    if entry.review_by is not None and entry.in_force:
        days = (entry.review_by - today).days
        if days < 0:
            found.append(f"review overdue since {entry.review_by.isoformat()}")
        elif days <= NEAR_END_DAYS:
            found.append(f"review due {entry.review_by.isoformat()}")
    for line in caps:
        if line.share >= NEAR_CAP:
            found.append(
                f"{line.purpose}: {line.used} of {line.limit} approvals this {line.window}"
            )
    return tuple(found)


def decision_query(fields: Mapping[str, str], *, page: int = 1) -> DecisionQuery:
    """The search form's fields (empty ones ignored) as one page of a query, newest first.

    ``since`` and ``until`` are ISO dates or date-times, in UTC unless they say otherwise; a
    date alone as ``until`` includes that whole day. Raises :class:`ConfigError` for bad input.
    """

    def given(name: str) -> str | None:
        value = fields.get(name, "").strip()
        return value or None

    outcome = given("outcome")
    if outcome is not None and outcome not in AuditOutcome.__members__:
        raise ConfigError(f"unknown outcome {outcome!r}")
    if page < 1:
        raise ConfigError("page numbers start at 1")
    return DecisionQuery(
        dept=given("dept"),
        agreement_id=given("agreement"),
        purpose=given("purpose"),
        outcome=AuditOutcome(outcome) if outcome else None,
        since=_moment(given("since"), "since", end_of_day=False),
        until=_moment(given("until"), "until", end_of_day=True),
        limit=PAGE_SIZE + 1,  # one more tells whether there is a next page
        offset=(page - 1) * PAGE_SIZE,
    )


def _moment(value: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime.combine(day, time(), UTC)
            return start + timedelta(days=1) if end_of_day else start
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{name}: give a date (2026-11-20) or a date and time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
