"""Inline SVG for the console: decisions of the last hour per agreement, stacked by outcome."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape

from gateway.operations.snapshot import DecisionCount

__all__ = ["OUTCOME_COLOURS", "decisions_svg"]

OUTCOME_COLOURS = {
    "APPROVED": "#2f855a",
    "APPROVED_MINIMISED": "#68d391",
    "RELEASED": "#2b6cb0",
    "REDACTED": "#63b3ed",
    "DENIED": "#c53030",
    "BLOCKED": "#6b46c1",
    "DEAD_LETTERED": "#718096",
    "DUPLICATE": "#cbd5e0",
    "INPUT_GAP": "#dd6b20",
}
_OTHER = "#a0aec0"
_LABEL_W, _BAR_W, _ROW_H, _GAP, _TOP = 190, 420, 16, 6, 28


def decisions_svg(decisions: Sequence[DecisionCount]) -> str:
    """Horizontal bars, one per agreement, of the last hour's records by outcome."""
    per_agreement: dict[str, dict[str, int]] = defaultdict(dict)
    for d in decisions:
        per_agreement[d.agreement_id or "(input)"][d.outcome] = d.last_hour
    rows = sorted(per_agreement.items())
    outcomes = [o for o in OUTCOME_COLOURS if any(o in counts for _, counts in rows)]
    outcomes += sorted({o for _, c in rows for o in c} - set(outcomes))
    width = _LABEL_W + _BAR_W + 50
    height = _TOP + max(len(rows), 1) * (_ROW_H + _GAP)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" font-size="11" '
        'font-family="system-ui,sans-serif">',
        "<title>Decisions of the last hour per agreement, by outcome</title>",
    ]
    x = 0
    for outcome in outcomes:
        colour = OUTCOME_COLOURS.get(outcome, _OTHER)
        parts.append(f'<rect x="{x}" y="2" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 13}" y="11">{escape(outcome.lower())}</text>')
        x += 24 + 7 * len(outcome)
    if not rows:
        parts.append(f'<text x="0" y="{_TOP + 12}">No decisions in the last hour.</text>')
    scale = _BAR_W / max((sum(c.values()) for _, c in rows), default=1)
    for i, (agreement, counts) in enumerate(rows):
        y = _TOP + i * (_ROW_H + _GAP)
        parts.append(
            f'<text x="{_LABEL_W - 6}" y="{y + 12}" text-anchor="end">{escape(agreement)}</text>'
        )
        left = float(_LABEL_W)
        for outcome in outcomes:
            count = counts.get(outcome, 0)
            if count:
                w = count * scale
                parts.append(
                    f'<rect x="{left:.1f}" y="{y}" width="{w:.1f}" height="{_ROW_H}" '
                    f'fill="{OUTCOME_COLOURS.get(outcome, _OTHER)}"><title>{escape(agreement)}: '
                    f"{escape(outcome)} {count}</title></rect>"
                )
                left += w
        parts.append(f'<text x="{left + 5:.1f}" y="{y + 12}">{sum(counts.values())}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
