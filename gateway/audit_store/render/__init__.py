"""Reports and query results rendered for people and programs.

Everything rendered is a name, a count, a time or a pseudonymous key: the audit store holds
nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from gateway.audit_store.base import IndexedRecord
from gateway.audit_store.render.decisions import decisions_csv, decisions_json, decisions_table
from gateway.audit_store.render.html import bar_chart_svg, subject_html, transparency_html
from gateway.audit_store.render.subject import subject_json, subject_markdown
from gateway.audit_store.render.transparency import transparency_csv, transparency_markdown
from gateway.audit_store.reports import SubjectReport, TransparencyReport

__all__ = [
    "DECISION_FORMATS",
    "SUBJECT_FORMATS",
    "TRANSPARENCY_FORMATS",
    "bar_chart_svg",
    "render_decisions",
    "render_subject",
    "render_transparency",
]

_DECISIONS: Mapping[str, Callable[[Sequence[IndexedRecord]], str]] = {
    "table": decisions_table,
    "json": decisions_json,
    "csv": decisions_csv,
}
_SUBJECT: Mapping[str, Callable[[SubjectReport], str]] = {
    "md": subject_markdown,
    "html": subject_html,
    "json": subject_json,
}
_TRANSPARENCY: Mapping[str, Callable[[TransparencyReport], str]] = {
    "md": transparency_markdown,
    "html": transparency_html,
    "csv": transparency_csv,
}
DECISION_FORMATS = tuple(_DECISIONS)
SUBJECT_FORMATS = tuple(_SUBJECT)
TRANSPARENCY_FORMATS = tuple(_TRANSPARENCY)


def render_decisions(items: Sequence[IndexedRecord], fmt: str) -> str:
    """``fmt``: one of :data:`DECISION_FORMATS`."""
    return _DECISIONS[fmt](items)


def render_subject(report: SubjectReport, fmt: str) -> str:
    """``fmt``: one of :data:`SUBJECT_FORMATS`."""
    return _SUBJECT[fmt](report)


def render_transparency(report: TransparencyReport, fmt: str) -> str:
    """``fmt``: one of :data:`TRANSPARENCY_FORMATS`."""
    return _TRANSPARENCY[fmt](report)
