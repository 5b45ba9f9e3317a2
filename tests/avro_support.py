"""Avro values for property tests: any value of a schema, and the bytes fastavro writes."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastavro import parse_schema, schemaless_writer
from hypothesis import strategies as st

from gateway.envelope.binary._types import optional
from gateway.envelope.codec import Codec

REGISTRY = Codec.default().registry

EVERY_TYPE = parse_schema(
    {
        "type": "record",
        "name": "test.EveryType",
        "fields": [
            {"name": "flag", "type": "boolean"},
            {"name": "small", "type": "int"},
            {"name": "big", "type": "long"},
            {"name": "real", "type": "double"},
            {"name": "text", "type": "string"},
            {"name": "blob", "type": "bytes"},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {"name": "colour", "type": {"type": "enum", "name": "Colour", "symbols": ["R", "G"]}},
            {"name": "maybe", "type": ["null", "test.Colour"]},
            {"name": "tags", "type": {"type": "map", "values": {"type": "array", "items": "long"}}},
            {
                "name": "children",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "Child",
                        "fields": [
                            {"name": "name", "type": ["null", "string"]},
                            {
                                "name": "born",
                                "type": ["null", {"type": "int", "logicalType": "date"}],
                            },
                        ],
                    },
                },
            },
            {"name": "nothing", "type": "null"},
        ],
    }
)
SCHEMAS = {name: REGISTRY.get(name).parsed for name in REGISTRY.names} | {"EveryType": EVERY_TYPE}
"""Every schema of the registry, and one with every type the codec compiles."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


def values(schema: Any, named: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Any value of ``schema`` that fastavro writes."""
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    if isinstance(schema, list):
        return st.none() | values(optional(schema), named)
    kind = schema if isinstance(schema, str) else schema["type"]
    logical = None if isinstance(schema, str) else schema.get("logicalType")
    if logical == "timestamp-millis":
        return st.integers(-(2**44), 2**44).map(lambda n: EPOCH + timedelta(milliseconds=n))
    if logical == "date":
        return st.dates(date(1, 1, 1), date(9999, 12, 31))
    if kind == "record":
        return st.fixed_dictionaries(
            {f["name"]: values(f["type"], named) for f in schema["fields"]}
        )
    simple: dict[str, st.SearchStrategy[Any]] = {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "double": st.floats(allow_nan=False),
        "string": _TEXT,
        "bytes": st.binary(max_size=12),
    }
    if kind in simple:
        return simple[kind]
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(values(schema["items"], named), max_size=3)
    assert kind == "map"
    return st.dictionaries(_TEXT, values(schema["values"], named), max_size=3)


def encoded(schema: Any, value: Any) -> bytes:
    out = io.BytesIO()
    schemaless_writer(out, schema, value)
    return out.getvalue()
