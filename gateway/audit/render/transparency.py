"""The transparency report as Markdown and CSV."""

from __future__ import annotations

import csv
import io

from gateway.audit.render._common import CAP_HEADINGS, cap_cells, md_table, stamp
from gateway.audit.reports import TransparencyReport

__all__ = [
    "REASON_HEADINGS",
    "count_rows",
    "reason_rows",
    "summary_lines",
    "transparency_csv",
    "transparency_markdown",
]

REASON_HEADINGS = ("outcome", "reason", "agreement", "purpose", "count", "for example")


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
    return "\n".join([*lines, ""])


def transparency_csv(report: TransparencyReport) -> str:
    """One tidy table: a row per count, its ``section`` saying what it counts."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        ["period", "section", "agreement_id", "purpose", "outcome", "reason_code", "window",
         "count", "limit", "window_start"]
    )  # fmt: skip
    label, start = report.period.label, stamp(report.period.start)
    for row in report.rows:
        for outcome in report.outcomes:
            if outcome in row.counts:
                agreement, purpose = row.agreement_id or "", row.purpose or ""
                count = row.counts[outcome]
                w.writerow([label, "decisions", agreement, purpose, outcome, "", "", count, "", ""])
    for v in report.volumes:
        w.writerow([label, "approved", v.agreement_id, v.purpose, "", "", "period", v.approved,
                    "", start])  # fmt: skip
        for u in v.caps or ():
            w.writerow([label, "cap_peak", v.agreement_id, v.purpose, "", "", u.window, u.peak,
                        u.limit, stamp(u.peak_at)])  # fmt: skip
    for r in report.reasons:
        w.writerow([label, "refusal_reasons", r.agreement_id or "", r.purpose or "", r.outcome,
                    r.code, "", r.count, "", ""])  # fmt: skip
    return out.getvalue()
