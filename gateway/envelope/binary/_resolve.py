"""Schema resolution: what a reader schema makes of data written with another (Avro 1.11).

Records of the same (unqualified) name match their fields by name: a writer's field the reader
lacks is skipped, a reader's field the writer lacks takes its default. Enums of the same name
map symbols by name (a symbol the reader lacks takes the reader's default symbol). An int may be
read as a long or a double, a long as a double, a string as bytes and bytes as a string. Any
other difference (a field added without a default, a type changed) is a :class:`SchemaError`
when the reader is compiled, never a surprise in the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.envelope.binary._types import base, optional, short_name
from gateway.errors import SchemaError

__all__ = ["check_named", "check_primitive", "default_expression", "enum_symbols"]

_PROMOTIONS = {
    ("int", "long"),
    ("int", "double"),
    ("long", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
}

_FROM_JSON: dict[str, Callable[[Any], Any]] = {
    "null": lambda v: None,
    "boolean": bool,
    "int": int,
    "long": int,
    "double": float,
    "string": str,
    "bytes": lambda v: str(v).encode("latin-1"),
}
"""A primitive's default, as JSON gives it, as a reader returns it."""


def check_named(writer: dict[str, Any], reader: Any, where: str) -> None:
    """A writer's record or enum is read by the reader's of the same kind and name."""
    if not (
        isinstance(reader, dict)
        and reader.get("type") == writer["type"]
        and short_name(reader["name"]) == short_name(writer["name"])
    ):
        raise SchemaError(
            f"{where}: {writer['type']} {writer['name']} cannot be read as {reader!r}"
        )


def check_primitive(writer: str, reader: str, where: str) -> None:
    if writer != reader and (writer, reader) not in _PROMOTIONS:
        raise SchemaError(f"{where}: {writer} cannot be read as {reader}")


def enum_symbols(writer: dict[str, Any], reader: dict[str, Any], where: str) -> tuple[str, ...]:
    """The reader's symbol for each of the writer's, by the writer's index."""
    known, fallback = set(reader["symbols"]), reader.get("default")
    lost = [s for s in writer["symbols"] if s not in known]
    if lost and fallback is None:
        raise SchemaError(f"{where}: symbol(s) {lost} of {writer['name']} are not in the reader's")
    return tuple(s if s in known else str(fallback) for s in writer["symbols"])


def default_expression(schema: Any, value: Any, named: dict[str, Any], where: str) -> str:
    """A Python expression making a fresh copy of a field's default, as a reader returns it."""
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    if isinstance(schema, list):
        return (
            "None" if value is None else default_expression(optional(schema), value, named, where)
        )
    kind = schema["type"] if isinstance(schema, dict) else schema
    if kind == "record":
        items = []
        for field in schema["fields"]:
            given = value.get(field["name"], field.get("default"))
            items.append(
                f"{field['name']!r}: {default_expression(field['type'], given, named, where)}"
            )
        return "{" + ", ".join(items) + "}"
    if kind == "array":
        return (
            "["
            + ", ".join(default_expression(schema["items"], v, named, where) for v in value)
            + "]"
        )
    if kind == "map":
        values = schema["values"]
        pairs = (f"{k!r}: {default_expression(values, v, named, where)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    if kind == "enum":
        return repr(str(value))
    primitive, logical = base(schema)
    if logical == "timestamp-millis":
        return f"EPOCH + {int(value)} * MS"
    if logical == "date":
        return f"date.fromordinal({int(value)} + EPOCH_ORDINAL)"
    converted = _FROM_JSON[primitive]
    try:
        return repr(converted(value))
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise SchemaError(f"{where}: default {value!r} is not a {primitive}") from exc
