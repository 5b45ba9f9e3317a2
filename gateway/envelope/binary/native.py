"""The C reader and template writer (:mod:`gateway.envelope.binary._native`), where built.

``pip install`` compiles them with Cython when it can (``setup.py``); without them, or with
``GATEWAY_PURE_PYTHON=1`` set, every reader and template is the generated Python one, which
stays the reference in any case: the C code hands every input it is not sure of to it
(:func:`native_reader`, :class:`TemplateWriters`). A schema is given to the C code as a tree of
nodes, one per type.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from gateway import extensions
from gateway.envelope.binary._types import base, named_types, optional

__all__ = ["AVAILABLE", "NativeTemplate", "TemplateWriters", "native_reader"]

try:
    from gateway.envelope.binary import _native
except ImportError:  # not built: no compiler or Python headers where it was installed
    _native = None  # type: ignore[assignment]

AVAILABLE = (
    _native is not None
    and sys.byteorder == "little"  # doubles are copied as they lie in memory
    and extensions.wanted()
)
"""Whether readers are the C ones."""

Reader = Callable[[bytes, int], tuple[Any, int]]
NativeTemplate = Callable[[Mapping[str, Any]], bytes | None]
"""A template's message from its holes' values (a dict; anything else gets None), or None:
values for the Python template to write or refuse."""
_TEMPLATE_HOLES = frozenset({"string", "long", "int", "timestamp-millis"})
"""The types of the holes the C template writer fills (or optional ones, or maps of strings)."""


def native_reader(schema: Any, fallback: Reader) -> Reader:
    """The C reader of ``schema`` (parsed, with its named types defined inline), reading what
    ``fallback`` reads and handing it whatever it is not sure of; ``fallback`` itself when the
    C reader was not built or is turned off."""
    if not AVAILABLE:
        return fallback
    root = _Nodes(named_types(schema)).node(schema)
    return _native.NativeReader(root, fallback)


class TemplateWriters:
    """Makes the C writers of one schema's templates: its holes' nodes are made once."""

    def __init__(self, schema: dict[str, Any], header: bytes) -> None:
        self._header = header
        self._types = {f["name"]: f["type"] for f in schema["fields"]}
        self._named = named_types(schema)
        self._holes: dict[str, Any] = {}

    def writer(self, segments: tuple[bytes | str, ...]) -> NativeTemplate | None:
        """The C writer of the header, then ``segments`` (the Python template's: encoded chunks,
        and the names of the holes between them); None when the C code was not built or is
        turned off, or a hole is of a type it does not fill."""
        if not AVAILABLE:
            return None
        built: list[Any] = [self._header]
        for segment in segments:
            if isinstance(segment, bytes):
                built.append(segment)
                continue
            node = self._holes.get(segment)
            if node is None:
                hole = self._types[segment]
                node = self._holes[segment] = (
                    _Nodes(self._named).node(hole) if _fillable(hole) else False
                )
            if node is False:
                return None
            built.append((segment, node))
        return _native.NativeTemplate(tuple(built))


def _fillable(schema: Any) -> bool:
    if isinstance(schema, list):
        schema = optional(schema)
    if isinstance(schema, dict) and schema.get("type") == "map":
        return bool(schema["values"] == "string")
    if isinstance(schema, dict) and schema.get("type") in ("record", "enum", "array"):
        return False
    primitive, logical = base(schema)
    return (logical or primitive) in _TEMPLATE_HOLES


class _Nodes:
    """The node of each type of one schema; a record's made once, so a recursive one refers to
    itself."""

    def __init__(self, named: dict[str, Any]) -> None:
        self._named = named
        self._records: dict[str, Any] = {}

    def node(self, schema: Any) -> Any:
        assert _native is not None
        if isinstance(schema, str) and schema in self._named:
            schema = self._named[schema]
        if isinstance(schema, list):
            node = _native.Node("optional")
            node.contain(self.node(optional(schema)))
            return node
        kind = schema.get("type") if isinstance(schema, dict) else None
        if kind == "record":
            name = schema["name"]
            if name not in self._records:
                node = self._records[name] = _native.Node("record")
                fields = schema["fields"]
                node.set_fields(
                    tuple(f["name"] for f in fields), tuple(self.node(f["type"]) for f in fields)
                )
            return self._records[name]
        if kind == "enum":
            node = _native.Node("enum")
            node.set_fields((), tuple(schema["symbols"]))
            return node
        if kind in ("array", "map"):
            node = _native.Node(kind)
            node.contain(self.node(schema["items" if kind == "array" else "values"]))
            return node
        primitive, logical = base(schema)
        return _native.Node(logical or {"int": "long"}.get(primitive, primitive))
