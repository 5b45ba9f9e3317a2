"""Reports built from the audit store: pure functions over what the store returns.

- :func:`build_subject_report`: a subject access report, in the spirit of Estonia's Data
  Tracker. Which departments asked about one person, when, under which agreement and purpose,
  what was decided, and which fields were released: names of fields, never their values.
- :func:`build_transparency_report`: a period's decisions counted per agreement, purpose and
  outcome; approved volume against the purposes' caps; the reasons for refusals; the policy
  changes applied or rejected.

Rendering is :mod:`gateway.audit_store.render`'s job.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.audit_store.base import (
    AuditStore,
    DecisionQuery,
    ReasonCount,
    RecordedPolicyChange,
    Tally,
)
from gateway.audit_store.periods import Period
from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage, Reason

__all__ = [
    "CapUse",
    "PurposeCounts",
    "PurposeVolume",
    "SubjectExchange",
    "SubjectReport",
    "TransparencyReport",
    "build_transparency_report",
    "caps_from_policy",
    "subject_access_report",
]

PurposeKey = tuple[str, str]
"""``(agreement id, purpose)``."""

CAP_WINDOWS: Mapping[str, Callable[[datetime], datetime]] = {
    "hour": lambda t: t,
    "day": lambda t: t.replace(hour=0),
    "week": lambda t: (t - timedelta(days=t.weekday())).replace(hour=0),
    "month": lambda t: t.replace(day=1, hour=0),
    "year": lambda t: t.replace(month=1, day=1, hour=0),
}
"""Cap windows a report understands, each as the start of the window an hour falls in (UTC)."""


# --- subject access ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubjectExchange:
    """One time a department asked about the subject, and what came of it."""

    request_id: str
    asked_at: datetime
    requester: str | None
    provider: str | None
    agreement_id: str | None
    purpose: str | None
    decision: str | None
    """The request's outcome (None when only the answer was recorded)."""
    reasons: tuple[Reason, ...]
    fields_sent: tuple[str, ...]
    """Which of the subject's details the provider was sent to find them."""
    answer: str | None
    """The answer's outcome; None when there was none (refused, or not answered yet)."""
    answered_at: datetime | None
    fields_released: tuple[str, ...]
    fields_withheld: tuple[str, ...]
    repeats: int
    """Copies of the request or answer recognised as repeats, and not acted on again."""


@dataclass(frozen=True, slots=True)
class SubjectReport:
    identifier_field: str
    subject_key: str
    generated_at: datetime
    exchanges: tuple[SubjectExchange, ...]
    """Oldest first."""

    @property
    def departments(self) -> tuple[str, ...]:
        """Every department that asked, in order of first asking."""
        return tuple(dict.fromkeys(e.requester for e in self.exchanges if e.requester))


def build_subject_report(
    records: Iterable[AuditRecord],
    *,
    identifier_field: str,
    subject_key: str,
    generated_at: datetime,
) -> SubjectReport:
    """Group one subject's decisions (see ``DecisionQuery.subject_key``) into exchanges."""
    groups: dict[tuple[str | None, str], list[AuditRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.at, r.stage is AuditStage.RESPONSE)):
        if record.request_id is not None:
            groups[record.requester, record.request_id].append(record)
    exchanges = [_exchange(request_id, group) for (_, request_id), group in groups.items()]
    exchanges.sort(key=lambda e: e.asked_at)
    return SubjectReport(identifier_field, subject_key, generated_at, tuple(exchanges))


def subject_access_report(
    store: AuditStore, *, identifier_field: str, subject_key: str, generated_at: datetime
) -> SubjectReport:
    """The subject access report of the person whose pseudonymous key is ``subject_key``, from
    every decision ``store`` holds about them (``gateway report subject``, the console)."""
    items = store.decisions(DecisionQuery(subject_key=subject_key, newest_first=False))
    return build_subject_report(
        (i.record for i in items),
        identifier_field=identifier_field,
        subject_key=subject_key,
        generated_at=generated_at,
    )


def _exchange(request_id: str, records: list[AuditRecord]) -> SubjectExchange:
    duplicate = AuditOutcome.DUPLICATE
    request = _first(records, AuditStage.REQUEST)
    answer = _first(records, AuditStage.RESPONSE)
    known = request or answer or records[0]
    return SubjectExchange(
        request_id=request_id,
        asked_at=known.at,
        requester=known.requester,
        provider=known.provider,
        agreement_id=known.agreement_id,
        purpose=known.purpose,
        decision=request.outcome.value if request else None,
        reasons=tuple(request.reasons) if request else (),
        fields_sent=tuple(request.fields_released) if request else (),
        answer=answer.outcome.value if answer else None,
        answered_at=answer.at if answer else None,
        fields_released=tuple(answer.fields_released) if answer else (),
        fields_withheld=tuple(answer.fields_withheld) if answer else (),
        repeats=sum(
            r.outcome is duplicate and r is not request and r is not answer for r in records
        ),
    )


def _first(records: list[AuditRecord], stage: AuditStage) -> AuditRecord | None:
    """The stage's first record that is not a repeat (or its first repeat, if only that)."""
    of_stage = [r for r in records if r.stage is stage]
    originals = [r for r in of_stage if r.outcome is not AuditOutcome.DUPLICATE]
    chosen = originals or of_stage
    return chosen[0] if chosen else None


# --- transparency ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PurposeCounts:
    agreement_id: str | None
    purpose: str | None
    counts: Mapping[str, int]
    """Outcome -> decisions."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class CapUse:
    """One cap of a purpose, and the busiest window of the period measured against it."""

    window: str
    limit: int
    peak: int
    peak_at: datetime | None
    """Start of the busiest window (None when nothing was approved)."""

    @property
    def exceeded(self) -> bool:
        return self.peak > self.limit


@dataclass(frozen=True, slots=True)
class PurposeVolume:
    agreement_id: str
    purpose: str
    approved: int
    caps: tuple[CapUse, ...] | None
    """Empty: the purpose has no cap. None: unknown (the policy was not available)."""


@dataclass(frozen=True, slots=True)
class TransparencyReport:
    period: Period
    generated_at: datetime
    policy_version: str | None
    outcomes: tuple[str, ...]
    """The outcomes counted, in a fixed order (the columns of :attr:`rows`)."""
    rows: tuple[PurposeCounts, ...]
    volumes: tuple[PurposeVolume, ...]
    reasons: tuple[ReasonCount, ...]
    """Most frequent first."""
    policy_changes: tuple[RecordedPolicyChange, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def totals(self) -> dict[str, int]:
        return {o: sum(r.counts.get(o, 0) for r in self.rows) for o in self.outcomes}

    @property
    def total(self) -> int:
        return sum(r.total for r in self.rows)


def build_transparency_report(
    tally: Tally,
    period: Period,
    *,
    generated_at: datetime,
    caps: Mapping[PurposeKey, Mapping[str, int]] | None = None,
    policy_version: str | None = None,
    notes: Iterable[str] = (),
) -> TransparencyReport:
    """Counts for ``period``. ``caps``: every purpose the policy has (see
    :func:`caps_from_policy`), listed even when unused; None when the policy is unknown."""
    rows: dict[tuple[str | None, str | None], dict[str, int]] = defaultdict(dict)
    for c in tally.outcomes:
        rows[c.agreement_id, c.purpose][c.outcome] = c.count
    seen = {c.outcome for c in tally.outcomes}
    known = [o.value for o in AuditOutcome if o.value in seen]
    outcomes = (*known, *sorted(seen - set(known)))
    hourly: dict[PurposeKey, dict[datetime, int]] = defaultdict(dict)
    for v in tally.approved_per_hour:
        hourly[v.agreement_id, v.purpose][v.hour] = v.count
    keys = sorted({*hourly, *(caps or {})})
    volumes = tuple(
        PurposeVolume(
            key[0],
            key[1],
            sum(hourly.get(key, {}).values()),
            None if caps is None else _cap_uses(caps.get(key, {}), hourly.get(key, {})),
        )
        for key in keys
    )
    return TransparencyReport(
        period=period,
        generated_at=generated_at,
        policy_version=policy_version,
        outcomes=outcomes,
        rows=tuple(
            PurposeCounts(a, p, counts)
            for (a, p), counts in sorted(
                rows.items(), key=lambda kv: (kv[0][0] or "~", kv[0][1] or "")
            )
        ),
        volumes=volumes,
        reasons=tuple(sorted(tally.reasons, key=lambda r: (-r.count, r.code))),
        policy_changes=tally.policy_changes,
        notes=tuple(notes),
    )


def _cap_uses(limits: Mapping[str, int], hours: Mapping[datetime, int]) -> tuple[CapUse, ...]:
    """Each cap with its busiest window (the earliest of equals), shortest window first."""
    uses = []
    for window, start_of in CAP_WINDOWS.items():
        if window not in limits:
            continue
        per_window: dict[datetime, int] = defaultdict(int)
        for hour, count in hours.items():
            per_window[start_of(hour)] += count
        peak_at = max(per_window, key=lambda w: (per_window[w], -w.timestamp()), default=None)
        peak = per_window[peak_at] if peak_at is not None else 0
        uses.append(CapUse(window, limits[window], peak, peak_at))
    return tuple(uses)


def caps_from_policy(policy: object) -> dict[PurposeKey, dict[str, int]]:
    """Every purpose of ``policy`` with its caps as ``{window: limit}`` (empty: no cap).

    Read defensively, so that the report works with policy revisions with or without caps:
    a purpose's ``caps`` may be absent or None (no cap), an object with ``per_hour``,
    ``per_day`` (... ``per_year``) attributes, or a mapping with such keys.
    """
    found: dict[PurposeKey, dict[str, int]] = {}
    for agreement in getattr(policy, "agreements", ()):
        purposes = getattr(agreement, "purposes", {})
        for purpose in purposes.values() if isinstance(purposes, Mapping) else purposes:
            found[str(agreement.id), str(purpose.id)] = _limits(getattr(purpose, "caps", None))
    return found


def _limits(caps: object) -> dict[str, int]:
    if caps is None:
        return {}
    limits = {}
    for window in CAP_WINDOWS:
        for name in (f"per_{window}", window):
            value = caps.get(name) if isinstance(caps, Mapping) else getattr(caps, name, None)
            if isinstance(value, int) and not isinstance(value, bool):
                limits[window] = value
                break
    return limits
