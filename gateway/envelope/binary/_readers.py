"""Readers generated from a schema: straight-line Python, one function per record.

Every field is read inline into a local named after it; a record inside another (an array's
items) is read by its own function. With a writer schema other than the reader's, the
generated code is the resolution (:mod:`~gateway.envelope.binary._resolve`): it skips what the
reader lacks and puts defaults where the writer had nothing.

Strings are not bounds-checked one by one: one that runs past the end leaves the position past
it, which the next read or the final check finds (a reader's entry function checks it, so a
truncated message is an IndexError, never a short value).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from gateway.codegen import Source, build, identifier
from gateway.envelope.binary import _wire
from gateway.envelope.binary._resolve import (
    check_named,
    check_primitive,
    default_expression,
    enum_symbols,
)
from gateway.envelope.binary._types import base, describe, named_types, optional
from gateway.errors import SchemaError

__all__ = [
    "Generator",
    "blocks",
    "complex_type",
    "generate_reader",
    "string",
    "varint",
]


_ENV: dict[str, Any] = {
    "LONG": _wire.LONG_OF_BYTE,
    "SIZE": _wire.SIZE_OF_BYTE,
    "read_long": _wire.read_long,
    "read_size": _wire.read_size,
    "EPOCH": _wire.EPOCH,
    "EPOCH_ORDINAL": _wire.EPOCH_ORDINAL,
    "MS": _wire.MS,
    "DOUBLE": _wire.DOUBLE,
    "date": date,
}


class Generator:
    """One module of generated readers: the functions of the records it reaches. Values come
    as fastavro returns them (datetimes, dates, lists and dicts); a subclass may read some types
    into another form (:mod:`~gateway.envelope.binary._columns`)."""

    times = True
    """Whether ``timestamp-millis`` and ``date`` values become datetimes and dates."""

    def __init__(self, writer: Any, reader: Any, reserved: Sequence[str] = ()) -> None:
        self.source = Source([*_ENV, *reserved])
        self.env = dict(_ENV)
        self.writer_named = named_types(writer)
        self.reader_named = named_types(reader)
        self._owed: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        self._made: set[str] = set()
        self.where = ""
        """The field being read, for errors."""

    # --- functions ----------------------------------------------------------------------------

    def functions_owed(self) -> None:
        """Write the function of every record called so far (and of those they call)."""
        while self._owed:
            writer, reader = self._owed.pop(0)
            self.source.blank()
            self.record_function(writer, reader, check_end=False)

    def record_function(
        self, writer: dict[str, Any], reader: dict[str, Any] | None, *, check_end: bool
    ) -> str:
        name = self._function(writer, reader)
        src = self.source
        with src.scope(), src.block(f"def {name}(data, pos):"):
            if reader is None:
                src.line(f'"""The position after the {writer["name"]} record at ``pos``."""')
            else:
                src.line(
                    f'"""The {reader["name"]} record at ``pos``, and the position after it."""'
                )
            fields = self.record_fields(writer, reader)
            if check_end:
                with src.block("if pos > len(data):"):
                    src.line(f'raise IndexError("{writer["name"]} runs past the end")')
            if reader is None:
                src.line("return pos")
            else:
                src.line("return {")
                for field, local in fields:
                    src.line(f"    {field!r}: {local},")
                src.line("}, pos")
        return name

    def record_fields(
        self, writer: dict[str, Any], reader: dict[str, Any] | None
    ) -> list[tuple[str, str]]:
        """Read the writer's fields (into locals named after them) and set the reader's fields
        the writer lacks to their defaults; the reader's fields and their locals, in its order."""
        src = self.source
        wanted = {f["name"]: f for f in reader["fields"]} if reader is not None else {}
        locals_: dict[str, str] = {}
        for field in writer["fields"]:
            self.where = f"{writer['name']} field {field['name']!r}"
            target = wanted.get(field["name"])
            if target is None:
                note = ", which the reader lacks: skipped" if reader is not None else ""
                src.line(f"# {field['name']}: {describe(field['type'])}{note}")
                self.value(field["type"], None, None)
                continue
            local = locals_[field["name"]] = src.local(field["name"])
            src.line(f"# {field['name']}: {describe(target['type'])}")
            self.value(field["type"], target["type"], local)
        for name, field in wanted.items():
            if name in locals_:
                continue
            self.where = f"{reader['name'] if reader else ''} field {name!r}"
            if "default" not in field:
                raise SchemaError(f"{self.where} is not in the writer's schema and has no default")
            local = locals_[name] = src.local(name)
            src.line(f"# {name}: not in the writer's schema: its default")
            expression = default_expression(
                field["type"], field["default"], self.reader_named, self.where
            )
            src.line(f"{local} = {expression}")
        return [(name, locals_[name]) for name in wanted]

    def _function(self, writer: dict[str, Any], reader: dict[str, Any] | None) -> str:
        return f"{'read' if reader is not None else 'skip'}_{identifier(writer['name'])}"

    def _call(
        self, writer: dict[str, Any], reader: dict[str, Any] | None, target: str | None
    ) -> None:
        name = self._function(writer, reader)
        if name not in self._made:
            self._made.add(name)
            self._owed.append((writer, reader))
        if target is None:
            self.source.line(f"pos = {name}(data, pos)")
        else:
            self.source.line(f"{target}, pos = {name}(data, pos)")

    # --- values -------------------------------------------------------------------------------

    def value(self, writer: Any, reader: Any, target: str | None) -> None:
        """Read a value written as ``writer`` into local ``target`` in the ``reader`` type's form
        (both None: skip it)."""
        writer = self.writer_named.get(writer, writer) if isinstance(writer, str) else writer
        reader = self.reader_named.get(reader, reader) if isinstance(reader, str) else reader
        if isinstance(writer, list):
            self._union(optional(writer), reader, target)
            return
        if isinstance(reader, list):
            self.value(writer, optional(reader), target)  # the union's value branch
            return
        kind = complex_type(writer)
        if reader is not None and kind != complex_type(reader):
            raise SchemaError(
                f"{self.where}: {describe(writer)} cannot be read as {describe(reader)}"
            )
        if reader is not None and kind in ("record", "enum"):
            check_named(writer, reader, self.where)
        read: dict[str, Callable[[Any, Any, str | None], None]]
        read = {"record": self.record, "enum": self._enum, "array": self.array, "map": self._map}
        read.get(kind or "", self._primitive)(writer, reader, target)

    def _union(self, writer: Any, reader: Any, target: str | None) -> None:
        src = self.source
        src.line("branch = data[pos]")
        src.line("pos += 1")
        with src.block("if branch == 2:"):
            self.value(writer, optional(reader) if isinstance(reader, list) else reader, target)
        with src.block("elif branch == 0:"):
            if target is None:
                src.line("pass")
            elif isinstance(reader, list):
                src.line(f"{target} = None")
            else:
                src.line(f'raise ValueError("null where {describe(reader)} is required")')
        with src.block("else:"):
            src.line('raise ValueError("union branch out of range")')

    def record(self, writer: dict[str, Any], reader: Any, target: str | None) -> None:
        self._call(writer, reader, target)

    def _enum(self, writer: dict[str, Any], reader: Any, target: str | None) -> None:
        src = self.source
        varint(src, "index")
        if target is None:
            return
        symbols = f"SYMBOLS_{identifier(writer['name'])}"
        self.env[symbols] = enum_symbols(writer, reader, self.where)
        with src.block("if index < 0:"):
            src.line('raise ValueError("enum index out of range")')
        src.line(f"{target} = {symbols}[index]")

    def array(self, writer: dict[str, Any], reader: Any, target: str | None) -> None:
        src = self.source
        items, item = writer["items"], None if reader is None else reader["items"]
        with src.scope():
            one = None if target is None else src.local("item")
            if target is not None:
                src.line(f"{target} = []")
            with blocks(src):
                self.value(items, item, one)
                if target is not None:
                    src.line(f"{target}.append({one})")

    def _map(self, writer: dict[str, Any], reader: Any, target: str | None) -> None:
        src = self.source
        values = None if reader is None else reader["values"]
        with src.scope():
            key, one = (None, None) if target is None else (src.local("key"), src.local("item"))
            if target is not None:
                src.line(f"{target} = {{}}")
            with blocks(src):
                string(src, key)
                self.value(writer["values"], values, one)
                if target is not None:
                    src.line(f"{target}[{key}] = {one}")

    def _primitive(self, writer: Any, reader: Any, target: str | None) -> None:
        src = self.source
        kind, _ = base(writer)
        into, logical = base(reader) if reader is not None else (kind, None)
        check_primitive(kind, into, self.where)
        logical = logical if self.times else None
        if kind in ("int", "long"):
            if target is None or logical is not None or into == "double":
                varint(src, "number")
                convert = {
                    "timestamp-millis": "EPOCH + number * MS",
                    "date": "date.fromordinal(number + EPOCH_ORDINAL)",
                }.get(logical or "", "float(number)" if into == "double" else "number")
                if target is not None:
                    src.line(f"{target} = {convert}")
            else:
                varint(src, target)
        elif kind in ("string", "bytes"):
            string(src, target, decode=into == "string")
        elif kind == "boolean":
            if target is not None:
                src.line(f"{target} = data[pos] == 1")
            src.line("pos += 1")
        elif kind == "double":
            with src.block("if pos + 8 > len(data):"):
                src.line('raise IndexError("double runs past the end")')
            if target is not None:
                src.line(f"{target} = DOUBLE.unpack_from(data, pos)[0]")
            src.line("pos += 8")
        elif target is not None:  # null
            src.line(f"{target} = None")


def complex_type(schema: Any) -> str | None:
    """A record's, enum's, array's or map's type name; None for primitives."""
    if isinstance(schema, dict) and schema["type"] in ("record", "enum", "array", "map"):
        return str(schema["type"])
    return None


# --- the pieces every reader is made of ----------------------------------------------------------


def varint(src: Source, target: str) -> None:
    """``target`` = the long at ``pos``: one byte looked up, longer ones read by a call."""
    src.line(f"{target} = LONG[data[pos]]")
    with src.block(f"if {target} is None:"):
        src.line(f"{target}, pos = read_long(data, pos)")
    with src.block("else:"):
        src.line("pos += 1")


def string(src: Source, target: str | None, *, decode: bool = True) -> None:
    """``target`` = the string (or bytes) at ``pos``; None: skip it."""
    src.line("size = SIZE[data[pos]]")
    with src.block("if size < 0:"):
        src.line("size, pos = read_size(data, pos)")
    with src.block("else:"):
        src.line("pos += 1")
    if target is None:
        src.line("pos += size")
        return
    src.line("end = pos + size")
    src.line(f"{target} = data[pos:end].decode()" if decode else f"{target} = bytes(data[pos:end])")
    src.line("pos = end")


@contextmanager
def blocks(src: Source) -> Iterator[None]:
    """The loop over an array's or map's blocks; the ``with`` body reads one item."""
    with src.scope():
        count = src.local("count")
        with src.block("while True:"):
            varint(src, count)
            with src.block(f"if {count} == 0:"):
                src.line("break")
            with src.block(f"if {count} < 0:"):
                src.line(f"{count} = -{count}")
                src.line("_, pos = read_long(data, pos)  # the block's size in bytes")
            with src.block(f"for _ in range({count}):"):
                yield


# --- entry points --------------------------------------------------------------------------------


def generate_reader(reader: Any, writer: Any) -> Callable[[bytes, int], tuple[Any, int]]:
    kind = "reader" if writer is reader else "resolving reader"
    gen = Generator(writer, reader)
    if isinstance(writer, str) and writer in gen.writer_named:
        writer = gen.writer_named[writer]
    if isinstance(writer, dict) and writer["type"] == "record":
        check_named(writer, reader, writer["name"])
        entry = gen.record_function(writer, reader, check_end=True)
        name = str(reader["name"])
    else:
        entry, name = "read_value", describe(writer)
        src = gen.source
        with src.block("def read_value(data, pos):"):
            gen.where = name
            gen.value(writer, reader, "value")
            with src.block("if pos > len(data):"):
                src.line('raise IndexError("value runs past the end")')
            src.line("return value, pos")
    gen.functions_owed()
    return build(gen.source, f"avro {kind} {name}", entry, gen.env)  # type: ignore[no-any-return]
