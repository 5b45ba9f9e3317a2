"""What the generators need to know of a schema's types, whichever way they read or write."""

from __future__ import annotations

from typing import Any

from gateway.errors import SchemaError

__all__ = ["base", "describe", "named_types", "optional", "short_name"]

_BASES = frozenset({"null", "boolean", "int", "long", "double", "string", "bytes"})
_LOGICAL = {("long", "timestamp-millis"), ("int", "date")}
"""Logical types given their own values; any other is read and written as its base type."""


def named_types(schema: Any, found: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every record and enum defined in ``schema``, by the name references to it use."""
    found = {} if found is None else found
    if isinstance(schema, list):
        for branch in schema:
            named_types(branch, found)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "enum"):
            found[schema["name"]] = schema
        for field in schema.get("fields", ()) if kind == "record" else ():
            named_types(field["type"], found)
        if kind in ("array", "map"):
            named_types(schema["items" if kind == "array" else "values"], found)
        elif isinstance(kind, dict | list):
            named_types(kind, found)
    return found


def optional(branches: list[Any]) -> Any:
    """The ``T`` of a ``["null", T]`` union, the only unions compiled."""
    if len(branches) != 2 or branches[0] != "null":
        raise SchemaError(f"unsupported union {branches!r}: only [null, T] is compiled")
    return branches[1]


def base(schema: Any) -> tuple[str, str | None]:
    """A primitive type's name and the logical type it is given, if compiled; SchemaError for
    types not compiled (float, fixed, ...)."""
    kind: str = schema if isinstance(schema, str) else schema["type"]
    logical: str | None = None if isinstance(schema, str) else schema.get("logicalType")
    if kind not in _BASES:
        raise SchemaError(f"unsupported Avro type {kind!r} ({logical or 'no logical type'})")
    return kind, logical if (kind, logical) in _LOGICAL else None


def short_name(name: str) -> str:
    """A full name's last part: records and enums resolve by it (``Reason``)."""
    return name.rsplit(".", 1)[-1]


def describe(schema: Any) -> str:
    """A few words for a type, for the comments of generated code."""
    if isinstance(schema, list):
        return f"optional {describe(schema[-1])}"
    if isinstance(schema, str):
        return schema
    kind = schema["type"]
    if kind in ("record", "enum"):
        return f"{kind} {schema['name']}"
    if kind == "array":
        return f"array of {describe(schema['items'])}"
    if kind == "map":
        return f"map of {describe(schema['values'])}"
    return str(schema.get("logicalType") or kind)
