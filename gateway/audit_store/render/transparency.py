"""The transparency report as Markdown and CSV."""

from __future__ import annotations

import csv
import io

from gateway.audit_store.render._common import CAP_HEADINGS, cap_cells, md_table, stamp
from gateway.audit_store.reports import TransparencyReport

__all__ = [
    "POLICY_HEADINGS",
    "REASON_HEADINGS",
    "count_rows",
    "policy_rows",
    "reason_rows",
    "summary_lines",
    "transparency_csv",
    "transparency_markdown",
]

REASON_HEADINGS = ("outcome", "reason", "agreement", "purpose", "count", "for example")
POLICY_HEADINGS = ("when (UTC)", "change", "policy revision")


def summary_lines(report: TransparencyReport) -> list[str]:
    """The sentences that open the report."""
    period = report.period
    lines = [
        f"Decisions of the exchange gateway from {stamp(period.start)} to {stamp(period.end)} "
        f"UTC: {report.total} in total."
    ]
    if report.policy_version:
        lines.append(f"Caps as in policy revision {report.policy_version}.")
    return lines + [f"Note: {note}" for note in report.notes]


def count_rows(report: TransparencyReport) -> list[list[str]]:
    """Decisions per agreement and purpose, one column per outcome, then the totals row."""
    rows = [
        [
            row.agreement_id or "(none)",
            row.purpose or "(none)",
            *(str(row.counts.get(o, 0)) for o in report.outcomes),
            str(row.total),
        ]
        for row in report.rows
    ]
    totals = report.totals
    return [*rows, ["total", "", *(str(totals[o]) for o in report.outcomes), str(report.total)]]


def reason_rows(report: TransparencyReport) -> list[list[str]]:
    return [
        [
            r.outcome,
            r.code,
            r.agreement_id or "(none)",
            r.purpose or "(none)",
            str(r.count),
            r.message,
        ]
        for r in report.reasons
    ]


def policy_rows(report: TransparencyReport) -> list[list[str]]:
    return [[stamp(c.at), c.outcome, c.policy_version] for c in report.policy_changes]


def transparency_markdown(report: TransparencyReport) -> str:
    counts = count_rows(report)
    counts[-1][0] = "**total**"
    lines = [f"# Transparency report: {report.period.label}", "", *summary_lines(report)]
    lines += ["", "## Decisions per agreement and purpose", ""]
    lines += md_table(["agreement", "purpose", *report.outcomes, "total"], counts)
    lines += ["", "## Approved requests against caps", ""]
    lines += md_table(CAP_HEADINGS, (row for v in report.volumes for row in cap_cells(v)))
    lines += ["", "## Reasons for refusals", ""]
    if report.reasons:
        lines += md_table(REASON_HEADINGS, reason_rows(report))
    else:
        lines.append("None in this period.")
    lines += ["", "## Policy changes", ""]
    if report.policy_changes:
        lines += md_table(POLICY_HEADINGS, policy_rows(report))
    else:
        lines.append("None in this period.")
    return "\n".join([*lines, ""])


_CSV_COLUMNS = (
    "period", "section", "agreement_id", "purpose", "outcome", "reason_code", "window", "count",
    "limit", "window_start", "policy_version",
)  # fmt: skip


def transparency_csv(report: TransparencyReport) -> str:
    """One tidy table: a row per count, its ``section`` saying what it counts."""
    out = io.StringIO()
    w = csv.DictWriter(out, _CSV_COLUMNS, restval="", lineterminator="\n")
    w.writeheader()
    period = {"period": report.period.label}
    for row in report.rows:
        for outcome in report.outcomes:
            if outcome in row.counts:
                w.writerow(
                    {
                        **period,
                        "section": "decisions",
                        "agreement_id": row.agreement_id or "",
                        "purpose": row.purpose or "",
                        "outcome": outcome,
                        "count": row.counts[outcome],
                    }
                )
    for v in report.volumes:
        purpose = {**period, "agreement_id": v.agreement_id, "purpose": v.purpose}
        w.writerow(
            {
                **purpose,
                "section": "approved",
                "window": "period",
                "count": v.approved,
                "window_start": stamp(report.period.start),
            }
        )
        for u in v.caps or ():
            w.writerow(
                {
                    **purpose,
                    "section": "cap_peak",
                    "window": u.window,
                    "count": u.peak,
                    "limit": u.limit,
                    "window_start": stamp(u.peak_at),
                }
            )
    for r in report.reasons:
        w.writerow(
            {
                **period,
                "section": "refusal_reasons",
                "agreement_id": r.agreement_id or "",
                "purpose": r.purpose or "",
                "outcome": r.outcome,
                "reason_code": r.code,
                "count": r.count,
            }
        )
    for c in report.policy_changes:
        w.writerow(
            {
                **period,
                "section": "policy_changes",
                "outcome": c.outcome,
                "count": 1,
                "window_start": stamp(c.at),
                "policy_version": c.policy_version,
            }
        )
    return out.getvalue()
