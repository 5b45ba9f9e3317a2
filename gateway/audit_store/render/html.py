"""Reports as self-contained HTML pages: inline style, an inline SVG chart, no external assets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from gateway.audit_store.render._common import (
    CAP_HEADINGS,
    EXCHANGE_HEADINGS,
    cap_cells,
    exchange_cells,
    stamp,
)
from gateway.audit_store.render.subject import INTRODUCTION
from gateway.audit_store.render.transparency import (
    POLICY_HEADINGS,
    REASON_HEADINGS,
    count_rows,
    policy_rows,
    reason_rows,
    summary_lines,
)
from gateway.audit_store.reports import PurposeCounts, SubjectReport, TransparencyReport

__all__ = ["bar_chart_svg", "subject_html", "transparency_html"]

_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;"
    "max-width:72rem;padding:0 1rem;color:#1f2933}"
    "table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}"
    "th,td{border:1px solid #cbd2d9;padding:.3rem .6rem;text-align:left;vertical-align:top}"
    "th{background:#f0f4f8}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "svg{max-width:100%;height:auto}"
)
_COLOURS = {
    "APPROVED": "#2f855a",
    "APPROVED_MINIMISED": "#68d391",
    "DENIED": "#c53030",
    "RELEASED": "#2b6cb0",
    "REDACTED": "#63b3ed",
    "BLOCKED": "#6b46c1",
    "DEAD_LETTERED": "#718096",
    "DUPLICATE": "#cbd5e0",
    "INPUT_GAP": "#dd6b20",
}
_OTHER = "#a0aec0"
_LABEL_MIN_W, _BAR_W, _ROW_H, _GAP, _TOP = 200, 460, 18, 8, 34
_CHAR_W = 7  # a generous average advance of a 12px sans-serif character


def _page(title: str, body: Iterable[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _table(headings: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(c)}</td>' if c.isdigit() else f"<td>{escape(c)}</td>"
            for c in row
        )
        + "</tr>\n"
        for row in rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def bar_chart_svg(rows: Sequence[PurposeCounts], outcomes: Sequence[str]) -> str:
    """Decisions per agreement and purpose as horizontal bars, stacked by outcome."""
    labels = [f"{r.agreement_id or '(none)'} / {r.purpose or '(none)'}" for r in rows]
    label_w = max([_LABEL_MIN_W, *(_CHAR_W * len(label) + 12 for label in labels)])
    height = _TOP + max(len(rows), 1) * (_ROW_H + _GAP) + _GAP
    width = label_w + _BAR_W + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-size="12" '
        'font-family="system-ui,sans-serif">',
        "<title>Decisions per agreement and purpose, by outcome</title>",
    ]
    x = 0
    for outcome in outcomes:  # the legend
        colour = _COLOURS.get(outcome, _OTHER)
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="14">{escape(outcome)}</text>')
        x += 24 + 7 * len(outcome)
    if not rows:
        parts.append(f'<text x="0" y="{_TOP + _ROW_H - 4}">No decisions in this period.</text>')
    scale = _BAR_W / max((r.total for r in rows), default=1)
    for i, (row, label) in enumerate(zip(rows, labels, strict=True)):
        y = _TOP + i * (_ROW_H + _GAP)
        baseline = y + _ROW_H - 5
        parts.append(
            f'<text x="{label_w - 8}" y="{baseline}" text-anchor="end">{escape(label)}</text>'
        )
        left = float(label_w)
        for outcome in outcomes:
            count = row.counts.get(outcome, 0)
            if not count:
                continue
            w = count * scale
            parts.append(
                f'<rect x="{left:.1f}" y="{y}" width="{w:.1f}" height="{_ROW_H}" '
                f'fill="{_COLOURS.get(outcome, _OTHER)}"><title>{escape(label)}: '
                f"{escape(outcome)} {count}</title></rect>"
            )
            left += w
        parts.append(f'<text x="{left + 6:.1f}" y="{baseline}">{row.total}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def transparency_html(report: TransparencyReport) -> str:
    title = f"Transparency report: {report.period.label}"
    body = [f"<h1>{escape(title)}</h1>"]
    body += [f"<p>{escape(line)}</p>" for line in summary_lines(report)]
    body += [
        "<h2>Decisions per agreement and purpose</h2>",
        bar_chart_svg(report.rows, report.outcomes),
        _table(["agreement", "purpose", *report.outcomes, "total"], count_rows(report)),
        "<h2>Approved requests against caps</h2>",
        _table(CAP_HEADINGS, (row for v in report.volumes for row in cap_cells(v))),
        "<h2>Reasons for refusals</h2>",
        _table(REASON_HEADINGS, reason_rows(report))
        if report.reasons
        else "<p>None in this period.</p>",
        "<h2>Policy changes</h2>",
        _table(POLICY_HEADINGS, policy_rows(report))
        if report.policy_changes
        else "<p>None in this period.</p>",
    ]
    return _page(title, body)


def subject_html(report: SubjectReport) -> str:
    title = "Subject access report"
    body = [
        f"<h1>{title}</h1>",
        f"<p>Identifier <code>{escape(report.identifier_field)}</code> (pseudonymous subject "
        f"key <code>{escape(report.subject_key)}</code>), generated "
        f"{escape(stamp(report.generated_at))} UTC.</p>",
        f"<p>{escape(INTRODUCTION)}</p>",
    ]
    if not report.exchanges:
        body.append("<p>No department has asked about this person.</p>")
    else:
        body += [
            f"<p>{len(report.exchanges)} request(s) by: "
            f"{escape(', '.join(report.departments))}.</p>",
            _table(EXCHANGE_HEADINGS, (exchange_cells(e) for e in report.exchanges)),
        ]
    return _page(title, body)
