"""Avro binary encoding compiled from a schema into plain Python closures.

fastavro parses our schemas and reads and writes anything; on the gateway's hot path its
per-field dispatch costs more than the encoding itself (about 30 µs for an audit record). Here
each schema is compiled once into a tree of small closures that write and read exactly the Avro
binary encoding (the bytes are identical to fastavro's, which the tests check on every schema).
Only what our schemas use is supported: records, enums, arrays, maps, unions of null and one
type, strings, bytes, int/long, boolean, double, and the ``timestamp-millis`` and ``date``
logical types. Anything else raises :class:`~gateway.errors.SchemaError` at compile time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from gateway.envelope import _generated
from gateway.errors import SchemaError

__all__ = [
    "Reader",
    "TemplateBinder",
    "Writer",
    "compile_reader",
    "compile_template",
    "compile_writer",
    "read_long",
]

Writer = Callable[[list[bytes], Any], None]
"""Appends the encoding of one value to a list of byte strings."""
Reader = Callable[[bytes, int], tuple[Any, int]]
"""Reads one value at an offset; returns it and the offset after it."""
TemplateBinder = Callable[[Mapping[str, Any]], Writer]
"""Takes the values of a record's constant fields; returns a writer of records with those
values that reads only the hole fields from its argument (:func:`compile_template`)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MILLISECOND = timedelta(milliseconds=1)
_DOUBLE = struct.Struct("<d")


def _encode_long(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = []  # a list of ints, then bytes(): a third faster than a growing bytearray
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = tuple(_encode_long(i) for i in range(-64, 64))


def _long(n: int) -> bytes:
    return _SMALL[n + 64] if -64 <= n < 64 else _encode_long(n)


def read_long(data: bytes, pos: int) -> tuple[int, int]:
    """A zigzag varint at ``pos``: its value and the position after it. Unrolled: timestamps take
    six bytes, and a loop costs half as much again per byte (generated readers read one-byte
    varints themselves)."""
    b = data[pos]
    n = b & 0x7F
    if b < 0x80:
        return (n >> 1) ^ -(n & 1), pos + 1
    b = data[pos + 1]
    n |= (b & 0x7F) << 7
    if b < 0x80:
        return (n >> 1) ^ -(n & 1), pos + 2
    b = data[pos + 2]
    n |= (b & 0x7F) << 14
    if b < 0x80:
        return (n >> 1) ^ -(n & 1), pos + 3
    b = data[pos + 3]
    n |= (b & 0x7F) << 21
    if b < 0x80:
        return (n >> 1) ^ -(n & 1), pos + 4
    b = data[pos + 4]
    n |= (b & 0x7F) << 28
    if b < 0x80:
        return (n >> 1) ^ -(n & 1), pos + 5
    b = data[pos + 5]
    n |= (b & 0x7F) << 35
    if b < 0x80:
        return (n >> 1) ^ -(n & 1), pos + 6
    for end in range(pos + 6, pos + 10):
        b = data[end]
        n |= (b & 0x7F) << (7 * (end - pos))
        if b < 0x80:
            return (n >> 1) ^ -(n & 1), end + 1
    raise ValueError("varint too long")


# --- writers ------------------------------------------------------------------------------------


def compile_writer(schema: Any) -> Writer:
    """A writer for a parsed Avro schema (fastavro's ``parse_schema`` output or plain JSON)."""
    return _writer(schema, {})


def _writer(schema: Any, named: dict[str, Writer]) -> Writer:
    if isinstance(schema, str):
        return named[schema] if schema in named else _primitive_writer(schema, None)
    if isinstance(schema, list):
        return _union_writer(schema, named)
    kind, logical = schema["type"], schema.get("logicalType")
    if kind == "record":
        return _record_writer(schema, named)
    if kind == "enum":
        index = {symbol: _long(i) for i, symbol in enumerate(schema["symbols"])}

        def write_enum(out: list[bytes], value: Any) -> None:
            out.append(index[value.value if isinstance(value, Enum) else value])

        named[schema["name"]] = write_enum
        return write_enum
    if kind == "array":
        return _array_writer(_writer(schema["items"], named))
    if kind == "map":
        return _map_writer(_writer(schema["values"], named))
    return _primitive_writer(kind, logical)


_NAME_BLOCKS: dict[tuple[str, ...], bytes] = {}
"""Encoded string-array blocks (count, then each string) of envelope records, by content: the
field names an audit record or reply lists recur from one message to the next."""
_NAME_BLOCKS_MAX = 8192
_ENVELOPE_NAMESPACE = "dx.gateway"


def _name_block(names: tuple[str, ...]) -> bytes:
    """Encode and remember the block of a non-empty array of names."""
    out = [_long(len(names))]
    for name in names:
        _write_string(out, name)
    block = b"".join(out)
    if len(_NAME_BLOCKS) >= _NAME_BLOCKS_MAX:
        _NAME_BLOCKS.clear()
    _NAME_BLOCKS[names] = block
    return block


def _holds_names(schema: dict[str, Any]) -> bool:
    """Whether a record's string arrays hold names, not values: envelope records do (field
    names and paths); dataset records may hold personal data, which is never memoised."""
    return str(schema["name"]).startswith(f"{_ENVELOPE_NAMESPACE}.")


def _generated_env(fields: list[dict[str, Any]], named: dict[str, Writer]) -> dict[str, Any]:
    return {
        "FIELDS": [_writer(f["type"], named) for f in fields],
        "INDEX": [_enum_index(f["type"]) for f in fields],
        "SMALL": _SMALL,
        "encode_long": _encode_long,
        "NAMES": _NAME_BLOCKS,
        "name_block": _name_block,
    }


def _record_writer(schema: dict[str, Any], named: dict[str, Writer]) -> Writer:
    fast: list[Writer] = []
    named[schema["name"]] = lambda out, value: fast[0](out, value)  # until built (recursion)
    fields = schema["fields"]
    writer = _generated.build(
        _generated.record_writer_source(fields, names=_holds_names(schema)),
        "write",
        **_generated_env(fields, named),
    )
    fast.append(writer)
    named[schema["name"]] = writer
    return writer


def compile_template(schema: Any, holes: Collection[str]) -> TemplateBinder:
    """A record writer for records that share every field but ``holes``.

    The binder it returns encodes the shared fields once, each run of them into one chunk, and
    gives a writer that appends those chunks between the holes' encodings: the same bytes as the
    record's full writer, as the hole fields are encoded inline by the same generated code."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise SchemaError("only a record has fields to leave holes for")
    fields = schema["fields"]
    unknown = set(holes) - {f["name"] for f in fields}
    if unknown:
        raise SchemaError(f"{schema['name']} has no field(s) {sorted(unknown)}")
    env = _generated_env(fields, {})
    writers = env["FIELDS"]
    make = _generated.build(
        _generated.template_writer_source(fields, holes, names=_holds_names(schema)),
        "make",
        **env,
    )

    def bind(constants: Mapping[str, Any]) -> Writer:
        chunks: list[bytes] = []
        run: list[bytes] | None = None
        for field, write in zip(fields, writers, strict=True):
            if field["name"] in holes:
                if run is not None:
                    chunks.append(b"".join(run))
                    run = None
                continue
            if run is None:
                run = []
            write(run, constants[field["name"]])
        if run is not None:
            chunks.append(b"".join(run))
        return make(tuple(chunks))  # type: ignore[no-any-return]

    return bind


def _enum_index(avro: Any) -> dict[str, bytes]:
    if isinstance(avro, dict) and avro.get("type") == "enum":
        return {symbol: _long(i) for i, symbol in enumerate(avro["symbols"])}
    return {}


def _union_writer(branches: list[Any], named: dict[str, Writer]) -> Writer:
    if len(branches) != 2 or branches[0] != "null":
        raise SchemaError(f"unsupported union {branches!r}: only [null, T] is compiled")
    inner = _writer(branches[1], named)

    def write_optional(out: list[bytes], value: Any) -> None:
        if value is None:
            out.append(b"\x00")
        else:
            out.append(b"\x02")
            inner(out, value)

    return write_optional


def _array_writer(item: Writer) -> Writer:
    def write_array(out: list[bytes], value: Any) -> None:
        if value:
            out.append(_long(len(value)))
            for element in value:
                item(out, element)
        out.append(b"\x00")

    return write_array


def _map_writer(item: Writer) -> Writer:
    def write_map(out: list[bytes], value: Mapping[str, Any]) -> None:
        if value:
            out.append(_long(len(value)))
            for key, element in value.items():
                raw = key.encode()
                out.append(_long(len(raw)))
                out.append(raw)
                item(out, element)
        out.append(b"\x00")

    return write_map


def _write_string(out: list[bytes], value: str) -> None:
    raw = value.encode()
    out.append(_long(len(raw)))
    out.append(raw)


def _write_bytes(out: list[bytes], value: bytes) -> None:
    out.append(_long(len(value)))
    out.append(bytes(value))


def _write_long(out: list[bytes], value: int) -> None:
    out.append(_long(value))


def _write_boolean(out: list[bytes], value: bool) -> None:
    out.append(b"\x01" if value else b"\x00")


def _write_double(out: list[bytes], value: float) -> None:
    out.append(_DOUBLE.pack(value))


def _write_timestamp(out: list[bytes], value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    out.append(_long((value - _EPOCH) // _MILLISECOND))


def _write_date(out: list[bytes], value: date) -> None:
    out.append(_long(value.toordinal() - _EPOCH_ORDINAL))


def _write_null(out: list[bytes], value: Any) -> None:
    return None


_PRIMITIVE_WRITERS: dict[tuple[str, str | None], Writer] = {
    ("string", None): _write_string,
    ("bytes", None): _write_bytes,
    ("int", None): _write_long,
    ("long", None): _write_long,
    ("boolean", None): _write_boolean,
    ("double", None): _write_double,
    ("null", None): _write_null,
    ("long", "timestamp-millis"): _write_timestamp,
    ("int", "date"): _write_date,
}


def _primitive_writer(kind: str, logical: str | None) -> Writer:
    writer = _PRIMITIVE_WRITERS.get((kind, logical)) or _PRIMITIVE_WRITERS.get((kind, None))
    if writer is None:
        raise SchemaError(f"unsupported Avro type {kind!r} ({logical or 'no logical type'})")
    return writer


# --- readers ------------------------------------------------------------------------------------


def compile_reader(schema: Any) -> Reader:
    """A reader for a parsed Avro schema; values come back as fastavro would return them."""
    return _reader(schema, {})


def _reader(schema: Any, named: dict[str, Reader]) -> Reader:
    if isinstance(schema, str):
        return named[schema] if schema in named else _primitive_reader(schema, None)
    if isinstance(schema, list):
        if len(schema) != 2 or schema[0] != "null":
            raise SchemaError(f"unsupported union {schema!r}: only [null, T] is compiled")
        return _optional_reader(_reader(schema[1], named))
    kind, logical = schema["type"], schema.get("logicalType")
    if kind == "record":
        return _record_reader(schema, named)
    if kind == "enum":
        symbols = tuple(schema["symbols"])

        def read_enum(data: bytes, pos: int) -> tuple[Any, int]:
            index, pos = read_long(data, pos)
            if index < 0:
                raise ValueError("enum index out of range")
            return symbols[index], pos

        named[schema["name"]] = read_enum
        return read_enum
    if kind in ("array", "map"):
        return _blocks_reader(
            _reader(schema["items" if kind == "array" else "values"], named), keyed=kind == "map"
        )
    return _primitive_reader(kind, logical)


def _record_reader(schema: dict[str, Any], named: dict[str, Reader]) -> Reader:
    fast: list[Reader] = []
    named[schema["name"]] = lambda data, pos: fast[0](data, pos)  # until built (recursion)
    fields = schema["fields"]
    reader = _generated.build(
        _generated.record_reader_source(fields),
        "read",
        FIELDS=[_reader(f["type"], named) for f in fields],
        SYMBOLS=[tuple(f["type"]["symbols"]) if _generated_enum(f["type"]) else () for f in fields],
        read_long=read_long,
    )
    fast.append(reader)
    named[schema["name"]] = reader
    return reader


def _generated_enum(avro: Any) -> bool:
    return isinstance(avro, dict) and avro.get("type") == "enum"


def _optional_reader(inner: Reader) -> Reader:
    def read_optional(data: bytes, pos: int) -> tuple[Any, int]:
        branch = data[pos]
        if branch == 0:
            return None, pos + 1
        if branch != 2:
            raise ValueError(f"union branch {branch} out of range")
        return inner(data, pos + 1)

    return read_optional


def _blocks_reader(item: Reader, *, keyed: bool) -> Reader:
    def read_blocks(data: bytes, pos: int) -> tuple[Any, int]:
        items: list[Any] = []
        entries: dict[str, Any] = {}
        while True:
            count, pos = read_long(data, pos)
            if count == 0:
                return (entries if keyed else items), pos
            if count < 0:  # a block with its byte size: skip the size
                count = -count
                _, pos = read_long(data, pos)
            for _ in range(count):
                if keyed:
                    key, pos = _read_string(data, pos)
                    entries[key], pos = item(data, pos)
                else:
                    value, pos = item(data, pos)
                    items.append(value)

    return read_blocks


def _read_string(data: bytes, pos: int) -> tuple[str, int]:
    size, pos = read_long(data, pos)
    end = pos + size
    if size < 0:
        raise ValueError("negative string length")
    if end > len(data):
        raise IndexError("string runs past the end")
    return data[pos:end].decode(), end


def _read_bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    size, pos = read_long(data, pos)
    end = pos + size
    if size < 0:
        raise ValueError("negative bytes length")
    if end > len(data):
        raise IndexError("bytes run past the end")
    return bytes(data[pos:end]), end


def _read_boolean(data: bytes, pos: int) -> tuple[bool, int]:
    return data[pos] == 1, pos + 1


def _read_double(data: bytes, pos: int) -> tuple[float, int]:
    if pos + 8 > len(data):
        raise IndexError("double runs past the end")
    return _DOUBLE.unpack_from(data, pos)[0], pos + 8


def _read_timestamp(data: bytes, pos: int) -> tuple[datetime, int]:
    millis, pos = read_long(data, pos)
    return _EPOCH + millis * _MILLISECOND, pos


def _read_date(data: bytes, pos: int) -> tuple[date, int]:
    days, pos = read_long(data, pos)
    return date.fromordinal(days + _EPOCH_ORDINAL), pos


def _read_null(data: bytes, pos: int) -> tuple[None, int]:
    return None, pos


_PRIMITIVE_READERS: dict[tuple[str, str | None], Reader] = {
    ("string", None): _read_string,
    ("bytes", None): _read_bytes,
    ("int", None): read_long,
    ("long", None): read_long,
    ("boolean", None): _read_boolean,
    ("double", None): _read_double,
    ("null", None): _read_null,
    ("long", "timestamp-millis"): _read_timestamp,
    ("int", "date"): _read_date,
}


def _primitive_reader(kind: str, logical: str | None) -> Reader:
    reader = _PRIMITIVE_READERS.get((kind, logical)) or _PRIMITIVE_READERS.get((kind, None))
    if reader is None:
        raise SchemaError(f"unsupported Avro type {kind!r} ({logical or 'no logical type'})")
    return reader
