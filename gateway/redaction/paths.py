"""Field paths, parsed and compiled to a tree that redaction walks alongside a record.

A path names data, never a value: ``surname`` (a field), ``address.postcode`` (a field of a
nested record), ``employments[].employer_name`` (a field of every record in an array) and
``tags[]`` (every element of an array). A path allows the whole subtree under it, so
``address`` allows ``address.postcode`` too. Paths are strict about shape: ``employments.x``
does not reach into a list, and ``employments[].x`` does not reach into a record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

__all__ = [
    "EMPTY_PATHS",
    "PathNode",
    "PathSet",
    "Segment",
    "compile_paths",
    "format_path",
    "leaf_paths",
    "parse_path",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Segment(NamedTuple):
    """One step of a path: a field name, and whether the step enters each element of a list."""

    name: str
    array: bool


def parse_path(text: str) -> tuple[Segment, ...]:
    """Split ``a[].b`` into segments; raise ``ValueError`` naming the problem if it is no path."""
    if not isinstance(text, str) or not text:
        raise ValueError("a field path cannot be empty")
    segments = []
    for part in text.split("."):
        array = part.endswith("[]")
        name = part[:-2] if array else part
        if not _NAME.fullmatch(name):
            raise ValueError(
                f"{text!r} is not a field path: use names of letters, digits and underscores "
                "joined by '.', with '[]' after a list (e.g. 'employments[].employer_name')"
            )
        segments.append(Segment(name, array))
    return tuple(segments)


def format_path(segments: Iterable[Segment]) -> str:
    """The text form of parsed segments (the inverse of :func:`parse_path`)."""
    return ".".join(seg.name + "[]" if seg.array else seg.name for seg in segments)


@dataclass(frozen=True, slots=True)
class PathNode:
    """A compiled node: ``whole`` allows everything below; otherwise a record or a list.

    A record node allows the named ``fields``; a list node (``items`` set) applies ``items`` to
    each element. ``path`` is this node's own path text, ready for release reports.
    """

    path: str
    whole: bool
    fields: Mapping[str, PathNode]
    items: PathNode | None


@dataclass(frozen=True, slots=True)
class PathSet:
    """A compiled allow-list of field paths: build with :func:`compile_paths`."""

    paths: tuple[str, ...]
    """The allow-list, normalised: sorted, without duplicates or paths inside another."""
    root: PathNode = field(repr=False, compare=False)
    """The tree the paths compile to (equality and hashing use ``paths`` alone)."""

    def covers(self, path: str) -> bool:
        """Whether ``path`` lies wholly inside the allow-list."""
        try:
            segments = parse_path(path)
        except ValueError:
            return False
        return _intersect(self.root, segments) == [format_path(segments)]

    def narrow(self, wanted: Iterable[str]) -> PathSet:
        """The part of this allow-list that ``wanted`` asks for.

        A wanted path inside an allowed subtree is kept as asked; a wanted path above allowed
        paths yields those allowed paths; anything else (including text that is no path) is
        dropped.
        """
        return _narrowed(self, tuple(wanted))


def compile_paths(paths: Iterable[str]) -> PathSet:
    """Compile path texts into a :class:`PathSet`.

    Raises ``ValueError`` for text that is no path, or for paths that disagree about whether a
    field is a list (``a.b`` and ``a[].c``).
    """
    root = _Draft()
    for text in paths:
        _add(root, parse_path(text), text)
    node = _freeze(root, "")
    return PathSet(paths=tuple(sorted(_whole_paths(node))), root=node)


def leaf_paths(value: Any, prefix: str = "") -> tuple[str, ...]:
    """Sorted leaf paths of a record's shape; empty records and lists are leaves themselves."""
    out: list[str] = []
    _leaves(value, prefix, out)
    return tuple(sorted(set(out)))


# --- compilation ----------------------------------------------------------------------------


class _Draft:
    """A mutable node while paths are being merged."""

    __slots__ = ("fields", "items", "whole")

    def __init__(self) -> None:
        self.whole = False
        self.fields: dict[str, _Draft] = {}
        self.items: _Draft | None = None

    def make_whole(self) -> None:
        self.whole = True
        self.fields = {}
        self.items = None


def _add(root: _Draft, segments: tuple[Segment, ...], text: str) -> None:
    node = root
    last = len(segments) - 1
    for i, seg in enumerate(segments):
        child = node.fields.setdefault(seg.name, _Draft())
        target = child
        if seg.array and not child.whole:
            if child.fields:
                raise _shape_conflict(text, segments[: i + 1])
            if child.items is None:
                child.items = _Draft()
            target = child.items
        if target.whole:
            return
        if i == last:
            target.make_whole()
            return
        if target.items is not None:
            raise _shape_conflict(text, segments[: i + 1])
        node = target


def _shape_conflict(text: str, segments: tuple[Segment, ...]) -> ValueError:
    where = format_path((*segments[:-1], Segment(segments[-1].name, False)))
    return ValueError(f"{text!r} disagrees with another path on whether {where!r} is a list")


def _freeze(draft: _Draft, path: str) -> PathNode:
    if draft.whole:
        return PathNode(path=path, whole=True, fields=MappingProxyType({}), items=None)
    if draft.items is not None:
        items = _freeze(draft.items, path + "[]")
        return PathNode(path=path, whole=False, fields=MappingProxyType({}), items=items)
    fields = {
        name: _freeze(child, f"{path}.{name}" if path else name)
        for name, child in sorted(draft.fields.items())
    }
    # A plain dict, read-only by convention: redaction looks fields up for every record.
    return PathNode(path=path, whole=False, fields=fields, items=None)


def _whole_paths(node: PathNode) -> Iterator[str]:
    if node.whole:
        yield node.path
    elif node.items is not None:
        yield from _whole_paths(node.items)
    else:
        for child in node.fields.values():
            yield from _whole_paths(child)


@lru_cache(maxsize=4096)
def _narrowed(allowed: PathSet, wanted: tuple[str, ...]) -> PathSet:
    """Cached: requests under one purpose mostly ask for the same few field lists."""
    kept: list[str] = []
    for text in wanted:
        try:
            segments = parse_path(text)
        except ValueError:
            continue
        kept.extend(_intersect(allowed.root, segments))
    try:
        return compile_paths(kept)
    except ValueError:
        # Asks inside a whole subtree can disagree on shape (``a[]`` and ``a.b``); keep the
        # ones that agree, in sorted order so the result does not depend on the ask's order.
        agreed: list[str] = []
        for path in sorted(set(kept)):
            try:
                compile_paths([*agreed, path])
            except ValueError:
                continue
            agreed.append(path)
        return compile_paths(agreed)


def _intersect(root: PathNode, segments: tuple[Segment, ...]) -> list[str]:
    """The allowed paths that ``segments`` asks for (itself when it lies inside the tree)."""
    node = root
    for seg in segments:
        if node.whole:
            break
        child = node.fields.get(seg.name)
        if child is None:
            return []
        if seg.array and not child.whole:
            if child.items is None:
                return []
            child = child.items
        node = child
    if node.whole:
        return [format_path(segments)]
    return list(_whole_paths(node))


# --- record shapes --------------------------------------------------------------------------


_LEAF_TYPES = frozenset({str, int, float, bool, bytes, type(None), date, datetime, Decimal})
"""Common leaf types, checked by exact type first because it is the cheapest test."""


def _leaves(value: Any, path: str, out: list[str]) -> None:
    """Append the leaf paths of ``value`` (found at ``path``) to ``out``."""
    cls = type(value)
    if cls in _LEAF_TYPES:
        out.append(path)
    elif cls is dict or (cls is not list and isinstance(value, Mapping)):
        if not value and path:  # an empty nested record is a leaf; the record itself is not
            out.append(path)
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            if type(child) in _LEAF_TYPES:
                out.append(child_path)
            else:
                _leaves(child, child_path, out)
    elif cls is list or isinstance(value, tuple):
        if not value:
            out.append(path)
        item_path = path + "[]"
        for child in value:
            _leaves(child, item_path, out)
    else:
        out.append(path)


EMPTY_PATHS = compile_paths(())
"""An allow-list that allows nothing."""
