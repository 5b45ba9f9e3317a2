"""The layouts of providers' records, as compiled redaction
(:mod:`gateway.redaction.compiled`) sees them.

A dataset schema's fields, in order, each with the kind of value the codec reads for it: text
for strings and enum symbols, flags, whole numbers, other single values (dates, times, floats,
bytes), nested records with their own fields, lists with their items, and anything else (maps,
unions of several types) left to the general redaction functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.envelope.binary import named_types
from gateway.redaction.compiled import FieldKind, LayoutField

__all__ = ["record_layout"]

_KINDS = {
    "string": FieldKind.TEXT,
    "boolean": FieldKind.FLAG,
    "int": FieldKind.NUMBER,
    "long": FieldKind.NUMBER,
    "double": FieldKind.VALUE,
    "float": FieldKind.VALUE,
    "bytes": FieldKind.VALUE,
}
_LOGICAL = {("int", "date"), ("long", "timestamp-millis")}
"""Logical types the codec reads as dates and times; others read as their base type."""


def record_layout(schema: Mapping[str, Any]) -> tuple[LayoutField, ...]:
    """The fields of record ``schema`` (as fastavro parses it) with their kinds."""
    return _fields(schema, named_types(schema))


def _fields(record: Mapping[str, Any], named: Mapping[str, Any]) -> tuple[LayoutField, ...]:
    return tuple(_field(f["name"], f["type"], named) for f in record["fields"])


def _field(name: str, avro_type: Any, named: Mapping[str, Any]) -> LayoutField:
    nullable = False
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        if len(branches) != 1:
            return LayoutField(name, FieldKind.OTHER, True)
        nullable, avro_type = len(avro_type) > 1, branches[0]
    if isinstance(avro_type, str):
        avro_type = named.get(avro_type, avro_type)
    if isinstance(avro_type, str):
        return LayoutField(name, _KINDS.get(avro_type, FieldKind.OTHER), nullable)
    kind, logical = avro_type.get("type"), avro_type.get("logicalType")
    if kind == "record":
        return LayoutField(name, FieldKind.RECORD, nullable, fields=_fields(avro_type, named))
    if kind == "array":
        items = _field("[]", avro_type["items"], named)
        return LayoutField(name, FieldKind.LIST, nullable, items=items)
    if kind == "enum":
        return LayoutField(name, FieldKind.TEXT, nullable)
    if (kind, logical) in _LOGICAL:
        return LayoutField(name, FieldKind.VALUE, nullable)
    return LayoutField(name, _KINDS.get(kind, FieldKind.OTHER), nullable)
