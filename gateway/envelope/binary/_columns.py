"""The readers' columns form: a whole single-object message read straight into a store row.

The same generator as every other reader (:class:`~gateway.envelope.binary._readers.Generator`),
with three types read another way: times stay epoch milliseconds, arrays become their JSON text
as they are read (strings quoted with any character as itself, records as objects of their
string fields with non-ASCII characters escaped), and a record anywhere else has no column form.
Only strings, longs, times, enums, optional ones of these, and arrays of strings or of records
of strings have one; any other field type is a :class:`SchemaError` when the reader is compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from json import dumps
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

from gateway.codegen import build
from gateway.envelope.binary._readers import Generator, blocks, complex_type, string
from gateway.envelope.binary._types import base, optional
from gateway.errors import DecodeError, SchemaError

__all__ = ["generate_columns_reader"]


class _Columns(Generator):
    times = False

    def value(self, writer: Any, reader: Any, target: str | None) -> None:
        writer = self.writer_named.get(writer, writer) if isinstance(writer, str) else writer
        inner = optional(writer) if isinstance(writer, list) else writer
        kind = complex_type(inner)
        column = kind == "enum" or (kind == "array" and inner is writer)
        if not column and (kind is not None or base(inner)[0] not in ("string", "int", "long")):
            raise SchemaError(f"{self.where} has no column form: {writer!r}")
        super().value(writer, reader, target)

    def array(self, writer: dict[str, Any], reader: Any, target: str | None) -> None:
        src, items = self.source, writer["items"]
        items = self.writer_named.get(items, items) if isinstance(items, str) else items
        if target is None:
            super().array(writer, reader, target)
            return
        with src.block("if data[pos] == 0:"):
            src.line("pos += 1")
            src.line(f'{target} = "[]"')
        with src.block("else:"), src.scope():
            texts = src.local("items")
            src.line(f"{texts} = []")
            with blocks(src):
                src.line(f"{texts}.append({self._json(items)})")
            src.line(f'{target} = "[" + ",".join({texts}) + "]"')

    def _json(self, items: Any) -> str:
        """Read one array item into locals; the expression of its JSON text."""
        src = self.source
        if items == "string":
            one = src.local("item")
            string(src, one)
            return f"quote({one})"
        if complex_type(items) == "record" and all(f["type"] == "string" for f in items["fields"]):
            parts = []
            for k, field in enumerate(items["fields"]):
                one = src.local(field["name"])
                string(src, one)
                opening = ("{" if k == 0 else ",") + dumps(field["name"]) + ":"
                parts.append(f"{opening!r} + quote_ascii({one})")
            return f"{' + '.join(parts)} + '}}'"
        raise SchemaError(f"{self.where} has no column form: array of {items!r}")


def generate_columns_reader(
    schema: dict[str, Any], header: bytes, parameters: Sequence[str], columns: Sequence[str]
) -> Callable[..., tuple[Any, ...]]:
    """``read(data, *parameters)``: the ``columns`` (field names or parameters) of the one
    single-object message in ``data``; DecodeError if it is not one."""
    name = schema["name"]
    env = {
        "quote": encode_basestring,
        "quote_ascii": encode_basestring_ascii,
        "DecodeError": DecodeError,
        "HEADER": header,
        "WRONG_HEADER": f"not a {name} message",
        "TRUNCATED": f"{name} body is truncated",
        "INVALID": f"{name} body is not valid Avro ({{}})",
        "TRAILING": f"{{}} trailing byte(s) after the {name} body",
    }
    gen = _Columns(schema, schema, reserved=[*parameters, *env])
    gen.env.update(env)
    src = gen.source
    with src.block(f"def read_columns({', '.join(['data', *parameters])}):"):
        src.line(f'"""The columns of one {name} message."""')
        with src.block("if not data.startswith(HEADER):"):
            src.line("raise DecodeError(WRONG_HEADER)")
        src.line(f"pos = {len(header)}")
        with src.block("try:"):
            fields = dict(gen.record_fields(schema, schema))
        with src.block("except IndexError:"):
            src.line("raise DecodeError(TRUNCATED) from None")
        with src.block("except (ValueError, UnicodeDecodeError, OverflowError) as exc:"):
            src.line("raise DecodeError(INVALID.format(type(exc).__name__)) from None")
        with src.block("if pos != len(data):"):
            with src.block("if pos > len(data):"):
                src.line("raise DecodeError(TRUNCATED)")
            src.line("raise DecodeError(TRAILING.format(len(data) - pos))")
        values = [fields.get(column, column) for column in columns]
        src.line(f"return ({', '.join(values)})")
    reader = build(gen.source, f"avro columns reader {name}", "read_columns", gen.env)
    return reader  # type: ignore[no-any-return]
