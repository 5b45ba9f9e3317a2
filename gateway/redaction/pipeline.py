"""Request minimisation and response redaction.

Redaction is selection against the allow-list, with the purpose's transforms applied to the
values selection releases, followed by a chain of small steps with one signature
(:data:`RedactionStep`). Selection always runs, and runs first, so transforms and later steps only
ever see data the purpose may receive.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, NamedTuple

from gateway.redaction.paths import _LEAF_TYPES, PathNode, PathSet, compile_paths
from gateway.redaction.paths import _leaves as _report
from gateway.redaction.plan import PlanNode, TransformPlan

__all__ = ["RedactionResult", "RedactionStep", "minimise_query", "redact"]


class RedactionResult(NamedTuple):
    """A redacted record with the leaf paths released and withheld (names, never values).

    A named tuple rather than a frozen dataclass: one is built per response, and it is five
    times cheaper to build.
    """

    record: dict[str, Any]
    released: tuple[str, ...]
    """Leaf paths that reached the output, transformed or not."""
    withheld: tuple[str, ...]
    transformed: tuple[str, ...] = ()
    """``path:transform`` for each released path whose values were transformed, e.g.
    ``nino:mask``; a subset of ``released`` by path."""

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
    transforms: TransformPlan | None = None,
    steps: Sequence[RedactionStep] = (),
) -> RedactionResult:
    """Keep only the allowed paths of ``record``, transform them, then apply ``steps`` in order.

    Records are filtered field by field and arrays element by element; an allowed path releases
    its whole subtree. A null, empty or wrongly shaped value where the allow-list only reaches
    inside it is withheld, and so is a value a transform is declared for that is not shaped as
    the plan expects. ``released`` and ``withheld`` are the sorted leaf paths of the input.
    """
    if not isinstance(paths, PathSet):
        if isinstance(paths, str):
            raise TypeError("paths must be a PathSet or a collection of path strings")
        paths = compile_paths(paths)
    out = _Report([], [], [])
    plan = transforms.root if transforms is not None else None
    kept = _select_record(record, paths.root, plan, out)
    result = RedactionResult(
        record=kept,
        released=tuple(sorted(set(out.released))),
        withheld=tuple(sorted(set(out.withheld))),
        transformed=tuple(sorted(set(out.transformed))),
    )
    for step in steps:
        result = step(result)
    return result


# --- selection ------------------------------------------------------------------------------
# Exact-type checks for dict and list come first: records decoded from Avro are plain dicts and
# lists, and this path runs for every field of every response. Plan nodes are looked up only for
# allowed fields, and only when the purpose transforms anything.

_NOTHING: Any = object()


class _Report:
    """The names redaction reports, collected while it walks a record."""

    __slots__ = ("released", "transformed", "withheld")

    def __init__(self, released: list[str], withheld: list[str], transformed: list[str]) -> None:
        self.released = released
        self.withheld = withheld
        self.transformed = transformed


def _select_record(
    value: Mapping[str, Any], node: PathNode, plan: PlanNode | None, out: _Report
) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    fields = node.fields
    steps = plan.fields if plan is not None else None
    prefix = node.path
    released, withheld = out.released, out.withheld
    for key, child_value in value.items():
        child = fields.get(key)
        if child is None:
            path = f"{prefix}.{key}" if prefix else key
            if type(child_value) in _LEAF_TYPES:
                withheld.append(path)
            else:
                _report(child_value, path, withheld)
            continue
        step = steps.get(key) if steps else None
        if child.whole:
            if step is not None:
                apply = step.apply
                if apply is not None and type(child_value) in _LEAF_TYPES:  # the common case
                    released.append(child.path)
                    if child_value is None:
                        kept[key] = None
                    else:
                        out.transformed.append(step.label)
                        kept[key] = apply(child_value)
                    continue
                selected = _release(child_value, child.path, step, out)
                if selected is not _NOTHING:
                    kept[key] = selected
            elif type(child_value) in _LEAF_TYPES:
                kept[key] = child_value
                released.append(child.path)
            else:
                kept[key] = _copy(child_value, child.path, released)
        else:
            selected = _select_inside(child_value, child, step, out)
            if selected is not _NOTHING:
                kept[key] = selected
    return kept


def _select_inside(value: Any, node: PathNode, plan: PlanNode | None, out: _Report) -> Any:
    """Select within a partly allowed node; ``_NOTHING`` when nothing of it is released."""
    if plan is not None and plan.name is not None:
        # A transform where the allow-list only reaches inside: the value cannot be a single
        # value the transform applies to, so nothing of it is released.
        _report(value, node.path, out.withheld)
        return _NOTHING
    items = node.items
    if items is None:
        if value and (type(value) is dict or isinstance(value, Mapping)):
            kept = _select_record(value, node, plan, out)
            return kept if kept else _NOTHING
    elif value and (type(value) is list or isinstance(value, list | tuple)):
        item_plan = plan.items if plan is not None else None
        selected: list[Any] = []
        for element in value:
            if items.whole:
                if item_plan is None:
                    selected.append(_copy(element, items.path, out.released))
                    continue
                kept = _release(element, items.path, item_plan, out)
            else:
                kept = _select_inside(element, items, item_plan, out)
            if kept is not _NOTHING:
                selected.append(kept)
        return selected if selected else _NOTHING
    _report(value, node.path, out.withheld)
    return _NOTHING


def _release(value: Any, path: str, plan: PlanNode | None, out: _Report) -> Any:
    """A wholly allowed value at ``path``, transformed as ``plan`` says; ``_NOTHING`` if none of
    it may leave (dropped, or not shaped as the plan expects)."""
    if plan is None:
        return _copy(value, path, out.released)
    cls = type(value)
    if cls is dict or cls is list:
        container = True
    else:
        container = cls not in _LEAF_TYPES and isinstance(value, Mapping | list | tuple)
    if plan.name is not None:
        apply = plan.apply
        if plan.drop or container or apply is None:
            _report(value, path, out.withheld)
            return _NOTHING
        out.released.append(path)
        if value is None:
            return None
        out.transformed.append(plan.label)
        return apply(value)
    if not container:  # the plan acts deeper down, so this value is not shaped as expected
        _report(value, path, out.withheld)
        return _NOTHING
    if not value:
        out.released.append(path)
        return {} if isinstance(value, Mapping) else []
    if cls is dict or isinstance(value, Mapping):
        steps = plan.fields
        released = out.released
        record: dict[Any, Any] = {}
        for key, child in value.items():
            step = steps.get(key)
            leaf = type(child) in _LEAF_TYPES
            if step is None:
                child_path = f"{path}.{key}"
                if leaf:
                    record[key] = child
                    released.append(child_path)
                else:
                    record[key] = _copy(child, child_path, released)
                continue
            apply = step.apply
            if leaf and apply is not None:  # the common cases, inline
                released.append(step.path)
                if child is None:
                    record[key] = None
                else:
                    out.transformed.append(step.label)
                    record[key] = apply(child)
                continue
            if leaf and step.drop:
                out.withheld.append(step.path)
                continue
            kept = _release(child, step.path, step, out)
            if kept is not _NOTHING:
                record[key] = kept
        return record if record else _NOTHING
    item_path = path + "[]"
    items = plan.items
    elements = []
    for child in value:
        kept = _release(child, item_path, items, out)
        if kept is not _NOTHING:
            elements.append(kept)
    return elements if elements else _NOTHING


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
