"""The register as Markdown, a self-contained HTML page, JSON or CSV."""

from __future__ import annotations

import csv
import html
import io
import json

from gateway.policy.tools.register import Register, RegisterEntry

__all__ = ["FORMATS", "render_register"]

FORMATS = ("md", "html", "json", "csv")

_COLUMNS = (
    "id",
    "title",
    "requester",
    "provider",
    "status",
    "in_force",
    "valid_from",
    "valid_until",
    "review_by",
    "purposes",
    "legal_basis",
    "reference",
    "owner",
)
_USAGE = ("requests", "approved", "denied", "answered")

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1b1b1b; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border: 1px solid #b1b4b6; padding: 0.4rem 0.6rem; text-align: left;
  vertical-align: top; }
th { background: #f3f2f1; }
tr.not-in-force td { color: #505a5f; }
td.num { text-align: right; }
"""


def render_register(register: Register, fmt: str) -> str:
    """The register in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return json.dumps(register.to_dict(), indent=2) + "\n"
    if fmt == "csv":
        return _csv(register)
    if fmt == "html":
        return _html(register)
    if fmt == "md":
        return _markdown(register)
    raise ValueError(f"unknown register format {fmt!r}; use one of {', '.join(FORMATS)}")


def _columns(register: Register) -> tuple[str, ...]:
    return _COLUMNS + _USAGE if register.with_usage else _COLUMNS


def _cells(entry: RegisterEntry, register: Register) -> dict[str, str]:
    row = entry.to_dict()
    cells = {key: _text(row[key]) for key in _COLUMNS}
    cells["in_force"] = "yes" if entry.in_force else "no"
    if register.with_usage and entry.usage is not None:
        cells.update({key: str(value) for key, value in entry.usage.to_dict().items()})
    return cells


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _csv(register: Register) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_columns(register), lineterminator="\n")
    writer.writeheader()
    for entry in register.entries:
        writer.writerow(_cells(entry, register))
    return out.getvalue()


def _markdown(register: Register) -> str:
    columns = _columns(register)
    lines = [
        "# Register of data-sharing agreements",
        "",
        f"As of {register.as_of.isoformat()}; policy revision `{register.policy_version}`; "
        f"{len(register.entries)} agreements.",
        "",
        "| " + " | ".join(c.replace("_", " ") for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for entry in register.entries:
        cells = _cells(entry, register)
        cells["id"] = f"`{cells['id']}`"
        lines.append("| " + " | ".join(_md_cell(cells[c]) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _html(register: Register) -> str:
    columns = _columns(register)
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    rows = []
    for entry in register.entries:
        cells = _cells(entry, register)
        css = "" if entry.in_force else ' class="not-in-force"'
        tds = "".join(
            f'<td class="num">{html.escape(cells[c])}</td>'
            if c in _USAGE
            else f"<td>{html.escape(cells[c])}</td>"
            for c in columns
        )
        rows.append(f'<tr id="{html.escape(entry.id)}"{css}>{tds}</tr>')
    title = "Register of data-sharing agreements"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n"
        f"<p>As of {register.as_of.isoformat()}; policy revision "
        f"<code>{html.escape(register.policy_version)}</code>; "
        f"{len(register.entries)} agreements.</p>\n"
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n</body>\n</html>\n"
    )
