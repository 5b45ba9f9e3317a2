"""Audit records read from their Avro bytes straight into store rows.

The indexer's hot path. Decoding a record into a field dict and then turning the dict into a row
(:func:`~gateway.audit_store._rows.row_of`) builds every value twice; the reader compiled here
is the envelope's generated Avro reader in its columns form
(:func:`~gateway.envelope.binary.compile_columns_reader`): it reads each field of the
``AuditRecord`` schema into a local and returns the row: times stay epoch milliseconds, enums
their symbols, and lists become their JSON text as they are read. Its rows equal ``row_of``'s
for the same record, which the tests check.

Only the field types the audit record uses have a column form (strings, optional strings, longs,
timestamps and optional ones, enums, arrays of strings, arrays of records of strings); a schema
with any other raises :class:`~gateway.errors.SchemaError` when the reader is compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from gateway.audit_store._rows import COLUMNS, FIELD_OF_COLUMN, SOURCE_COLUMNS
from gateway.envelope.binary import compile_columns_reader
from gateway.errors import SchemaError

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

_COORDINATES = ("topic", "partition", "offset", "digest")


def compile_row_reader(schema: RecordSchema) -> RowReader:
    """A row reader for messages written with ``schema`` (the ``AuditRecord`` schema)."""
    fields = {f["name"] for f in schema.parsed["fields"]}
    coordinates = dict(zip(SOURCE_COLUMNS, _COORDINATES, strict=True))
    values = []
    for column in COLUMNS:
        field = FIELD_OF_COLUMN.get(column, column)
        if column in coordinates:
            values.append(coordinates[column])
        elif field in fields:
            values.append(field)
        else:
            raise SchemaError(f"the audit record schema has no field {field!r} for {column!r}")
    return compile_columns_reader(
        schema.parsed, schema.header, parameters=_COORDINATES, columns=values
    )
