"""What every rendering shares: times, outcomes in plain words, cells of tables."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from gateway.audit_store.reports import PurposeVolume, SubjectExchange

__all__ = [
    "CAP_HEADINGS",
    "EXCHANGE_HEADINGS",
    "cap_cells",
    "exchange_cells",
    "md_table",
    "said",
    "stamp",
    "to_json",
]

SAID = {
    "APPROVED": "allowed",
    "APPROVED_MINIMISED": "allowed, details it did not need removed",
    "DENIED": "refused",
    "RELEASED": "answered",
    "REDACTED": "answered, fields the purpose does not allow withheld",
    "BLOCKED": "answer stopped by the gateway",
    "DEAD_LETTERED": "could not be processed",
    "DUPLICATE": "a repeat, not acted on again",
    "INPUT_GAP": "input lost before the gateway read it",
}
"""Outcomes in plain words, for people reading about themselves."""

EXCHANGE_HEADINGS = (
    "asked (UTC)", "asked by", "asked of", "agreement", "purpose", "decision", "answer",
    "details sent", "fields released", "fields withheld",
)  # fmt: skip
CAP_HEADINGS = ("agreement", "purpose", "approved", "cap", "busiest window (UTC)", "use")


def stamp(at: datetime | None) -> str:
    """A UTC time to the second, as reports show it."""
    return at.strftime("%Y-%m-%d %H:%M:%S") if at is not None else ""


def said(outcome: str | None) -> str:
    return SAID.get(outcome, outcome) if outcome is not None else ""


def exchange_cells(e: SubjectExchange) -> list[str]:
    """One row of a subject access report, under :data:`EXCHANGE_HEADINGS`."""
    decision = said(e.decision)
    if e.decision == "DENIED" and e.reasons:
        decision += ": " + "; ".join(r.message for r in e.reasons)
    answer = said(e.answer) + (f" ({stamp(e.answered_at)})" if e.answered_at else "")
    if e.repeats:
        answer += f"; {e.repeats} repeat(s) ignored"
    return [
        stamp(e.asked_at),
        e.requester or "",
        e.provider or "",
        e.agreement_id or "",
        e.purpose or "",
        decision,
        answer,
        ", ".join(e.fields_sent),
        ", ".join(e.fields_released),
        ", ".join(e.fields_withheld),
    ]


def cap_cells(v: PurposeVolume) -> list[list[str]]:
    """Rows under :data:`CAP_HEADINGS`: one per cap, or one saying there is none."""
    head = [v.agreement_id, v.purpose, str(v.approved)]
    if not v.caps:
        return [[*head, "unknown" if v.caps is None else "no cap", "", ""]]
    rows = []
    for u in v.caps:
        use = f"{100 * u.peak / u.limit:.0f}%" if u.limit else ""
        busiest = f"{stamp(u.peak_at)}: {u.peak}" if u.peak_at else "0"
        rows.append(
            [*head, f"{u.limit} per {u.window}", busiest, use + (" EXCEEDED" if u.exceeded else "")]
        )
    return rows


def md_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def md_table(headings: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    return [md_row(headings), md_row(["---"] * len(headings)), *(md_row(r) for r in rows)]


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
