"""A purpose's field transforms, compiled to a tree that redaction walks beside the allow-list.

The allow-list (:class:`~gateway.redaction.paths.PathSet`) says what may leave; the plan says in
what form. A plan node either acts (drops its subtree, or transforms a single value) or only leads
to nodes deeper down that do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gateway.redaction.paths import Segment, format_path, parse_path
from gateway.redaction.transforms import (
    TransformKind,
    TransformSpec,
    ValueTransform,
    transform_function,
)

__all__ = ["EMPTY_PLAN", "PlanNode", "TransformPlan", "check_transforms", "compile_transforms"]


@dataclass(frozen=True, slots=True)
class PlanNode:
    """One node of a plan; ``name`` is set when the node acts (``drop`` or a value transform)."""

    path: str
    name: str | None
    drop: bool
    apply: ValueTransform | None
    fields: Mapping[str, PlanNode]
    items: PlanNode | None
    label: str = ""
    """``path:name`` as redaction reports it, built once."""


@dataclass(frozen=True, slots=True)
class TransformPlan:
    """Compiled transforms of one purpose: build with :func:`compile_transforms`."""

    rules: tuple[tuple[str, TransformSpec], ...]
    """``(path, transform)`` for every rule that is not ``keep``, sorted by path."""
    root: PlanNode | None = field(repr=False, compare=False)
    """None when nothing is transformed, so redaction can skip the plan altogether."""


_NO_FIELDS: Mapping[str, PlanNode] = MappingProxyType({})


class _Draft:
    __slots__ = ("fields", "items", "spec")

    def __init__(self) -> None:
        self.spec: TransformSpec | None = None
        self.fields: dict[str, _Draft] = {}
        self.items: _Draft | None = None


def compile_transforms(
    rules: Iterable[tuple[str, TransformSpec]], *, pseudonym_key: bytes | None = None
) -> TransformPlan:
    """Compile ``(path, transform)`` rules; ``keep`` rules are ignored.

    Raises ``ValueError`` when a path lies inside another transformed path, when paths disagree
    about whether a field is a list, or when a pseudonym is asked for without a key.
    """
    kept, root = _draft(rules)
    node = _freeze(root, "", pseudonym_key) if kept else None
    return TransformPlan(rules=kept, root=node)


def check_transforms(rules: Iterable[tuple[str, TransformSpec]]) -> None:
    """Raise the ``ValueError`` :func:`compile_transforms` would for the rules' layout alone."""
    _draft(rules)


def _draft(
    rules: Iterable[tuple[str, TransformSpec]],
) -> tuple[tuple[tuple[str, TransformSpec], ...], _Draft]:
    kept = sorted(
        ((path, spec) for path, spec in rules if spec.kind is not TransformKind.KEEP),
        key=lambda rule: rule[0],
    )
    root = _Draft()
    for path, spec in kept:
        _add(root, parse_path(path), path, spec)
    return tuple(kept), root


def _add(root: _Draft, segments: tuple[Segment, ...], text: str, spec: TransformSpec) -> None:
    node = root
    for i, seg in enumerate(segments):
        if node.spec is not None:
            raise ValueError(f"{text!r} lies inside a path that is already transformed")
        child = node.fields.setdefault(seg.name, _Draft())
        if seg.array:
            if child.fields or child.spec is not None:
                raise _shape_conflict(text, segments[: i + 1])
            child.items = child.items or _Draft()
            child = child.items
        elif child.items is not None:
            raise _shape_conflict(text, segments[: i + 1])
        node = child
    if node.spec is not None or node.fields or node.items is not None:
        raise ValueError(f"{text!r} encloses or repeats another transformed path")
    node.spec = spec


def _shape_conflict(text: str, segments: tuple[Segment, ...]) -> ValueError:
    where = format_path((*segments[:-1], Segment(segments[-1].name, False)))
    return ValueError(f"{text!r} disagrees with another path on whether {where!r} is a list")


def _freeze(draft: _Draft, path: str, key: bytes | None) -> PlanNode:
    spec = draft.spec
    if spec is not None:
        drop = spec.kind is TransformKind.DROP
        apply = None if drop else transform_function(spec, key)
        return PlanNode(path, spec.name, drop, apply, _NO_FIELDS, None, f"{path}:{spec.name}")
    items = _freeze(draft.items, path + "[]", key) if draft.items is not None else None
    fields = {
        name: _freeze(child, f"{path}.{name}" if path else name, key)
        for name, child in sorted(draft.fields.items())
    }
    return PlanNode(path, None, False, None, fields, items)  # a plain dict: read on every record


EMPTY_PLAN = compile_transforms(())
"""A plan that transforms nothing."""
