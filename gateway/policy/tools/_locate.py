"""Lines of keys in agreement files, found by re-reading the YAML node tree (never the values)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["Loc", "Locator"]

Loc = tuple[int | str, ...]
"""A key path into an agreement file, e.g. ``("purposes", 0, "response_fields", 2)``."""


class Locator:
    """Finds the 1-based line of a location such as ``("purposes", 0, "response_fields", 2)``.

    Each file is composed once; a file that cannot be read or parsed has no lines.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._roots: dict[str, yaml.Node | None] = {}

    def line(self, file: str | None, loc: Loc) -> int | None:
        if file is None:
            return None
        if file not in self._roots:
            self._roots[file] = _compose(self._directory / file)
        root = self._roots[file]
        return None if root is None else _line_of(root, loc)


def _compose(path: Path) -> yaml.Node | None:
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _line_of(root: yaml.Node, loc: Loc) -> int:
    """The line of the deepest node ``loc`` reaches (a mapping value's line is its key's)."""
    node: yaml.Node = root
    mark: Any = root.start_mark
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if getattr(key, "value", None) == part:
                    child, mark = value, key.start_mark
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            mark = child.start_mark
        if child is None:
            break
        node = child
    return int(mark.line) + 1
