"""Request minimisation and response redaction.

Redaction is selection against the allow-list followed by a chain of small steps with one
signature (:data:`RedactionStep`). Selection always runs, and runs first, so later steps (such as
a transform that keeps only a year of birth) only ever see data the purpose may receive.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.redaction.paths import _LEAF_TYPES, PathNode, PathSet, compile_paths
from gateway.redaction.paths import _leaves as _report

__all__ = ["RedactionResult", "RedactionStep", "minimise_query", "redact"]


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """A redacted record with the leaf paths released and withheld (names, never values)."""

    record: dict[str, Any]
    released: tuple[str, ...]
    withheld: tuple[str, ...]

    @property
    def redacted(self) -> bool:
        """Whether anything in the provider's record was withheld."""
        return bool(self.withheld)


RedactionStep = Callable[[RedactionResult], RedactionResult]
"""A step after selection: takes the result so far and returns the next one."""


def minimise_query(
    query: Mapping[str, str], allowed: Collection[str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Keep only the query fields a purpose may send; also return the removed names, sorted."""
    kept: dict[str, str] = {}
    removed: list[str] = []
    for name, value in query.items():
        if name in allowed:
            kept[name] = value
        else:
            removed.append(name)
    return kept, tuple(sorted(removed))


def redact(
    record: Mapping[str, Any],
    paths: PathSet | Collection[str],
    *,
    steps: Sequence[RedactionStep] = (),
) -> RedactionResult:
    """Keep only the allowed paths of ``record``, then apply any further ``steps`` in order.

    Records are filtered field by field and arrays element by element; an allowed path releases
    its whole subtree. A null, empty or wrongly shaped value where the allow-list only reaches
    inside it is withheld. ``released`` and ``withheld`` are the sorted leaf paths of the input.
    """
    if not isinstance(paths, PathSet):
        if isinstance(paths, str):
            raise TypeError("paths must be a PathSet or a collection of path strings")
        paths = compile_paths(paths)
    released: list[str] = []
    withheld: list[str] = []
    kept = _select_record(record, paths.root, released, withheld)
    result = RedactionResult(
        record=kept,
        released=tuple(sorted(set(released))),
        withheld=tuple(sorted(set(withheld))),
    )
    for step in steps:
        result = step(result)
    return result


# --- selection ------------------------------------------------------------------------------
# Exact-type checks for dict and list come first: records decoded from Avro are plain dicts and
# lists, and this path runs for every field of every response.

_NOTHING: Any = object()


def _select_record(
    value: Mapping[str, Any], node: PathNode, released: list[str], withheld: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fields = node.fields
    prefix = node.path
    for key, child_value in value.items():
        child = fields.get(key)
        if child is None:
            path = f"{prefix}.{key}" if prefix else key
            if type(child_value) in _LEAF_TYPES:
                withheld.append(path)
            else:
                _report(child_value, path, withheld)
        elif child.whole:
            if type(child_value) in _LEAF_TYPES:
                out[key] = child_value
                released.append(child.path)
            else:
                out[key] = _copy(child_value, child.path, released)
        else:
            kept = _select_inside(child_value, child, released, withheld)
            if kept is not _NOTHING:
                out[key] = kept
    return out


def _select_inside(value: Any, node: PathNode, released: list[str], withheld: list[str]) -> Any:
    """Select within a partly allowed node; ``_NOTHING`` when nothing of it is released."""
    items = node.items
    if items is None:
        if value and (type(value) is dict or isinstance(value, Mapping)):
            kept = _select_record(value, node, released, withheld)
            return kept if kept else _NOTHING
    elif value and (type(value) is list or isinstance(value, list | tuple)):
        out: list[Any] = []
        for element in value:
            if items.whole:
                out.append(_copy(element, items.path, released))
                continue
            kept = _select_inside(element, items, released, withheld)
            if kept is not _NOTHING:
                out.append(kept)
        return out if out else _NOTHING
    _report(value, node.path, withheld)
    return _NOTHING


def _copy(value: Any, path: str, released: list[str]) -> Any:
    """A fresh copy of a released subtree at ``path`` (never the root), recording its leaves."""
    cls = type(value)
    if cls in _LEAF_TYPES:
        released.append(path)
        return value
    if cls is dict or (cls is not list and isinstance(value, Mapping)):
        if not value:
            released.append(path)
        record: dict[Any, Any] = {}
        for key, child in value.items():
            child_path = f"{path}.{key}"
            if type(child) in _LEAF_TYPES:
                record[key] = child
                released.append(child_path)
            else:
                record[key] = _copy(child, child_path, released)
        return record
    if cls is list or isinstance(value, tuple):
        if not value:
            released.append(path)
        item_path = path + "[]"
        return [_copy(child, item_path, released) for child in value]
    released.append(path)
    return value
