"""Avro binary encoding, compiled from a schema into readable straight-line Python.

fastavro parses our schemas and reads and writes anything; on the gateway's hot path its
per-field dispatch costs more than the encoding itself (about 30 µs for an audit record). Here
each schema is compiled once into Python source, one function per record, that writes and reads
exactly the Avro binary encoding (the bytes are identical to fastavro's, which the tests check
on every schema): each field inline, in a local named after it, under a comment naming it. The
source is registered with :mod:`linecache` (``<avro reader dx.gateway.AuditRecord>``), so
tracebacks and :func:`inspect.getsource` show it.

One generator serves every reader and writer: :func:`compile_reader` (optionally resolving
data written with an older schema, :mod:`~gateway.envelope.binary._resolve`),
:func:`compile_writer`, :func:`compile_template` (messages with holes), and
:func:`compile_columns_reader` (a message read straight into a store row). :func:`read_long`
reads one varint where a caller reads a single field from the raw bytes (the audit chain).
Where it was built, a reader in C reads the messages and hands the generated reader whatever it
is not sure of (:mod:`~gateway.envelope.binary.native`).

Only what our schemas use is supported: records, enums, arrays, maps, unions of null and one
type, strings, bytes, int/long, boolean, double, and the ``timestamp-millis`` and ``date``
logical types. Anything else raises :class:`~gateway.errors.SchemaError` at compile time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from gateway.envelope.binary._columns import generate_columns_reader
from gateway.envelope.binary._readers import generate_reader
from gateway.envelope.binary._types import named_types
from gateway.envelope.binary._wire import read_long
from gateway.envelope.binary._writers import NAME_BLOCKS, generate_template, generate_writer
from gateway.envelope.binary.native import native_reader
from gateway.errors import SchemaError

__all__ = [
    "ColumnsReader",
    "Reader",
    "TemplateBinder",
    "Writer",
    "compile_columns_reader",
    "compile_reader",
    "compile_template",
    "compile_writer",
    "named_types",
    "read_long",
]

Writer = Callable[[list[bytes], Any], None]
"""Appends the encoding of one value to a list of byte strings."""
Reader = Callable[[bytes, int], tuple[Any, int]]
"""Reads one value at an offset; returns it and the offset after it."""
TemplateBinder = Callable[[Mapping[str, Any]], Writer]
"""Takes the values of a record's constant fields; returns a writer of records with those
values that reads only the hole fields from its argument (:func:`compile_template`)."""
ColumnsReader = Callable[..., tuple[Any, ...]]
"""``read(data, *parameters)``: the columns of one single-object message
(:func:`compile_columns_reader`)."""

_NAME_BLOCKS = NAME_BLOCKS
"""The memo of envelope records' encoded name arrays (tests clear it)."""


def compile_writer(schema: Any) -> Writer:
    """A writer for a parsed Avro schema (fastavro's ``parse_schema`` output or plain JSON)."""
    return generate_writer(schema)


def compile_reader(schema: Any, writer: Any = None, *, native: bool = True) -> Reader:
    """A reader for a parsed Avro schema; values come back as fastavro would return them.

    With ``writer``, it reads data written with that schema instead and returns what
    ``schema`` makes of it (Avro schema resolution); :class:`SchemaError` if it cannot. Without,
    it is the C reader where it was built (:mod:`~gateway.envelope.binary.native`) unless
    ``native`` is False, with the generated Python reader behind it."""
    reader = generate_reader(schema, schema if writer is None else writer)
    return native_reader(schema, reader) if native and writer is None else reader


def compile_template(schema: Any, holes: Collection[str]) -> TemplateBinder:
    """A record writer for records that share every field but ``holes``.

    The binder it returns encodes the shared fields once, each run of them into one chunk, and
    gives a writer that appends those chunks between the holes' encodings: the same bytes as the
    record's full writer, as the hole fields are encoded inline by the same generated code."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise SchemaError("only a record has fields to leave holes for")
    unknown = set(holes) - {f["name"] for f in schema["fields"]}
    if unknown:
        raise SchemaError(f"{schema['name']} has no field(s) {sorted(unknown)}")
    return generate_template(schema, holes)


def compile_columns_reader(
    schema: Mapping[str, Any],
    header: bytes,
    *,
    parameters: Sequence[str] = (),
    columns: Sequence[str],
) -> ColumnsReader:
    """A reader of whole single-object messages (``header``, then a ``schema`` record) that
    returns ``columns``, each a field of the record or one of ``parameters`` (passed on after
    the message): times as epoch milliseconds, enums as their symbols, arrays as their JSON
    text. A message that is not one is a :class:`~gateway.errors.DecodeError`; a field type with
    no such form a :class:`SchemaError`."""
    return generate_columns_reader(dict(schema), header, parameters, columns)
