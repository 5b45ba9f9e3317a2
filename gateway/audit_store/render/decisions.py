"""Decisions as ``gateway audit query`` prints them: an aligned table, CSV or JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from gateway.audit_store.base import IndexedRecord
from gateway.audit_store.render._common import stamp, to_json

__all__ = ["decisions_csv", "decisions_json", "decisions_table"]

_COLUMNS = (
    "at", "stage", "outcome", "requester", "provider", "agreement_id", "purpose", "reasons",
    "fields_released", "fields_withheld", "request_id", "decision_id",
)  # fmt: skip
_TABLE_COLUMNS = len(_COLUMNS) - 1  # the decision id is for machines
_WITHHELD = _COLUMNS.index("fields_withheld")
_CELL_MAX = 48


def _cells(item: IndexedRecord) -> list[str]:
    r = item.record
    return [
        stamp(r.at),
        r.stage.value,
        r.outcome.value,
        r.requester or "",
        r.provider or "",
        r.agreement_id or "",
        r.purpose or "",
        " ".join(x.code for x in r.reasons),
        ", ".join(r.fields_released),
        ", ".join(r.fields_withheld),
        r.request_id or "",
        r.decision_id,
    ]


def _table_cells(item: IndexedRecord) -> list[str]:
    cells = _cells(item)[:_TABLE_COLUMNS]
    cells[_WITHHELD] = str(len(item.record.fields_withheld))
    return [c if len(c) <= _CELL_MAX else c[: _CELL_MAX - 1] + "…" for c in cells]


def decisions_table(items: Sequence[IndexedRecord]) -> str:
    """Aligned columns for a terminal (times in UTC); long cells are cut, withheld fields
    counted: ``--format csv`` or ``json`` gives them whole."""
    headings = list(_COLUMNS[:_TABLE_COLUMNS])
    headings[_WITHHELD] = "withheld"
    rows = [headings] + [_table_cells(i) for i in items]
    widths = [max(len(row[c]) for row in rows) for c in range(_TABLE_COLUMNS)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + f"\n({len(items)} decision(s); times in UTC)\n"


def decisions_csv(items: Sequence[IndexedRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS)
    writer.writerows(_cells(i) for i in items)
    return out.getvalue()


def decisions_json(items: Sequence[IndexedRecord]) -> str:
    """Every stored field of each decision, and where its message was read."""
    return to_json(
        [{**i.record.model_dump(mode="json"), "audit_message": i.source._asdict()} for i in items]
    )
