"""Policy changes as plain lines, Markdown or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from gateway.policy.tools.diff import Change

__all__ = ["render_changes"]

DIFF_FORMATS = ("text", "md", "json")


def render_changes(changes: Sequence[Change], fmt: str, *, old: str = "", new: str = "") -> str:
    """``changes`` from revision ``old`` to ``new`` in ``fmt`` (one of :data:`DIFF_FORMATS`)."""
    if fmt == "json":
        document = {"old": old, "new": new, "changes": [c.to_dict() for c in changes]}
        return json.dumps(document, indent=2) + "\n"
    if fmt == "md":
        return _markdown(changes, old, new)
    if fmt == "text":
        heading = f"changes from {old} to {new}: {len(changes)}" if old or new else ""
        lines = [f"{c.where}: {c.text}" for c in changes] or ["no changes"]
        return "\n".join([heading, *lines] if heading else lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(DIFF_FORMATS)}")


def _markdown(changes: Sequence[Change], old: str, new: str) -> str:
    lines = ["# Policy changes", ""]
    if old or new:
        lines += [f"From revision `{old}` to `{new}`: {len(changes)} changes.", ""]
    if not changes:
        return "\n".join([*lines, "No changes."]) + "\n"
    current = None
    for change in changes:
        if change.agreement_id != current:
            current = change.agreement_id
            lines += ["", f"## `{current}`", ""] if lines[-1] else [f"## `{current}`", ""]
        subject = f"purpose `{change.purpose}`: " if change.purpose else ""
        lines.append(f"- {subject}{change.text}")
    return "\n".join(lines) + "\n"
