"""Audit records read from their Avro bytes straight into store rows.

The indexer's hot path. Decoding a record into a field dict (:mod:`gateway.envelope.binary`) and
then turning the dict into a row (:func:`~gateway.audit_store._rows.row_of`) builds every value
twice; the reader compiled here is straight-line Python generated from the ``AuditRecord``
schema that reads each field into a local and returns the row: times stay epoch milliseconds,
enums their symbols, and lists become their JSON text as they are read. Its rows equal
``row_of``'s for the same record, which the tests check.

One-byte varints (lengths under 64, small numbers) are looked up in a table; longer ones, and
negative lengths, go through a function. A length that runs past the end is found by the next
read or by the final position check, so the strings themselves are not bounds-checked.

Only the field types the audit record uses have a column form (strings, optional strings, longs,
timestamps and optional ones, enums, arrays of strings, arrays of records of strings); a schema
with any other raises :class:`~gateway.errors.SchemaError` when the reader is compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from json import dumps
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any, Protocol

from gateway.audit_store._rows import COLUMNS, FIELD_OF_COLUMN, SOURCE_COLUMNS
from gateway.envelope._generated import build
from gateway.envelope.binary import read_long
from gateway.errors import DecodeError, SchemaError

__all__ = ["RecordSchema", "RowReader", "compile_row_reader"]


class RecordSchema(Protocol):
    """What a row reader is compiled from: a
    :class:`~gateway.envelope.schemas.RegisteredSchema`, or just these parts of one (plain data,
    which another process can be sent)."""

    @property
    def name(self) -> str: ...

    @property
    def header(self) -> bytes: ...

    @property
    def parsed(self) -> Mapping[str, Any]: ...


RowReader = Callable[[bytes, str, int, int, str], tuple[Any, ...]]
"""``read(data, topic, partition, offset, message_hash)``: the row of :data:`COLUMNS` for one
single-object encoded audit record; :class:`~gateway.errors.DecodeError` if it is not one."""

_TIMESTAMP = {"type": "long", "logicalType": "timestamp-millis"}
_SMALL_LONG = tuple((b >> 1) ^ -(b & 1) if b < 0x80 else None for b in range(256))
"""The value of each one-byte zigzag varint; None where more bytes follow."""
_SMALL_SIZE = tuple(b >> 1 if b < 0x80 and not b & 1 else -1 for b in range(256))
"""The length each one-byte varint gives; -1 where more bytes follow or it is negative."""

_LONG = """{i}{n} = SMALL_LONG[data[pos]]
{i}if {n} is None:
{i}    {n}, pos = read_long(data, pos)
{i}else:
{i}    pos += 1
"""
_STRING = """{i}n = SMALL_SIZE[data[pos]]
{i}if n < 0:
{i}    n, pos = read_size(data, pos)
{i}else:
{i}    pos += 1
{i}e = pos + n
{i}{target} = data[pos:e].decode()
{i}pos = e
"""
_ARRAY = (
    """{i}if data[pos] == 0:
{i}    pos += 1
{i}    {target} = "[]"
{i}else:
{i}    items = []
{i}    while True:
"""
    + _LONG.replace("{i}", "{i}        ").replace("{n}", "c")
    + """{i}        if c == 0:
{i}            break
{i}        if c < 0:
{i}            c = -c
{i}            _, pos = read_long(data, pos)
{i}        for _ in range(c):
{body}{i}    {target} = "[" + ",".join(items) + "]"
"""
)


def compile_row_reader(schema: RecordSchema) -> RowReader:
    """A row reader for messages written with ``schema`` (the ``AuditRecord`` schema)."""
    fields = schema.parsed["fields"]
    return build(
        _reader_source(fields),
        "read_row",
        HEADER=schema.header,
        START=len(schema.header),
        SYMBOLS=[_symbols(f["type"]) for f in fields],
        SMALL_LONG=_SMALL_LONG,
        SMALL_SIZE=_SMALL_SIZE,
        read_long=read_long,
        read_size=_read_size,
        quote=encode_basestring,
        quote_ascii=encode_basestring_ascii,
        DecodeError=DecodeError,
        WRONG_HEADER=f"not a {schema.name} message",
        TRUNCATED=f"{schema.name} body is truncated",
        INVALID=f"{schema.name} body is not valid Avro ({{}})",
        TRAILING=f"{{}} trailing byte(s) after the {schema.name} body",
    )


def _read_size(data: bytes, pos: int) -> tuple[int, int]:
    """A string or array length of any length; ValueError if it is negative."""
    size, pos = read_long(data, pos)
    if size < 0:
        raise ValueError("negative length")
    return size, pos


def _reader_source(fields: Sequence[dict[str, Any]]) -> str:
    names = {f["name"]: f"v{index}" for index, f in enumerate(fields)}
    lines = [
        "def read_row(data, topic, partition, offset, digest):",
        "    if not data.startswith(HEADER):",
        "        raise DecodeError(WRONG_HEADER)",
        "    pos = START",
        "    try:",
    ]
    for index, field in enumerate(fields):
        lines.append(_field_source(index, field, names[field["name"]], "        "))
    lines += [
        "    except IndexError:",
        "        raise DecodeError(TRUNCATED) from None",
        "    except (ValueError, UnicodeDecodeError, OverflowError) as exc:",
        "        raise DecodeError(INVALID.format(type(exc).__name__)) from None",
        "    if pos != len(data):",
        "        if pos > len(data):",
        "            raise DecodeError(TRUNCATED)",
        "        raise DecodeError(TRAILING.format(len(data) - pos))",
        f"    return ({', '.join(_column_values(names))})",
    ]
    return "\n".join(lines) + "\n"


def _column_values(names: dict[str, str]) -> list[str]:
    """What the generated code returns for each column: a field's local or a coordinate."""
    coordinates = dict(zip(SOURCE_COLUMNS, ("topic", "partition", "offset", "digest"), strict=True))
    values = []
    for column in COLUMNS:
        field = FIELD_OF_COLUMN.get(column, column)
        if column in coordinates:
            values.append(coordinates[column])
        elif field in names:
            values.append(names[field])
        else:
            raise SchemaError(f"the audit record schema has no field {field!r} for {column!r}")
    return values


def _field_source(index: int, field: dict[str, Any], var: str, i: str) -> str:
    avro = field["type"]
    if avro == "string":
        return _STRING.format(i=i, target=var)
    if avro in ("long", "int", _TIMESTAMP):
        return _LONG.format(i=i, n=var)  # times stay epoch milliseconds
    if avro == ["null", _TIMESTAMP]:
        return (
            f"{i}u = data[pos]\n{i}pos += 1\n{i}if u == 2:\n"
            + _LONG.format(i=i + "    ", n=var)
            + f"{i}elif u == 0:\n{i}    {var} = None\n"
            + f"{i}else:\n{i}    raise ValueError('union branch out of range')\n"
        )
    if avro == ["null", "string"]:
        return (
            f"{i}u = data[pos]\n{i}pos += 1\n{i}if u == 2:\n"
            + _STRING.format(i=i + "    ", target=var)
            + f"{i}elif u == 0:\n{i}    {var} = None\n"
            + f"{i}else:\n{i}    raise ValueError('union branch out of range')\n"
        )
    if isinstance(avro, dict) and avro.get("type") == "enum":
        return (
            _LONG.format(i=i, n="n")
            + f"{i}if n < 0:\n{i}    raise ValueError('negative enum index')\n"
            + f"{i}{var} = SYMBOLS[{index}][n]\n"
        )
    if isinstance(avro, dict) and avro.get("type") == "array":
        return _ARRAY.format(i=i, target=var, body=_item_source(field["name"], avro["items"], i))
    raise SchemaError(f"audit record field {field['name']!r} has no column form: {avro!r}")


def _item_source(name: str, items: Any, i: str) -> str:
    """Appends one array item's JSON text to ``items``: strings quoted as JSON (any character as
    itself), records as objects of their string fields (non-ASCII characters escaped, as
    :func:`~gateway.audit_store._rows.row_of` writes reasons)."""
    inner = i + "            "
    if items == "string":
        return _STRING.format(i=inner, target="s") + f"{inner}items.append(quote(s))\n"
    if (
        isinstance(items, dict)
        and items.get("type") == "record"
        and all(f["type"] == "string" for f in items["fields"])
    ):
        body, parts = "", []
        for k, key in enumerate(f["name"] for f in items["fields"]):
            body += _STRING.format(i=inner, target=f"s{k}")
            parts.append(f"{('{' if k == 0 else ',') + dumps(key) + ':'!r} + quote_ascii(s{k})")
        return body + f"{inner}items.append({' + '.join(parts)} + '}}')\n"
    raise SchemaError(f"audit record field {name!r} has no column form: array of {items!r}")


def _symbols(avro: Any) -> tuple[str, ...]:
    if isinstance(avro, dict) and avro.get("type") == "enum":
        return tuple(avro["symbols"])
    return ()
