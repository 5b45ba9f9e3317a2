"""Writers and message templates generated from a schema: straight-line Python, one function
per record, each field appended inline to a list of byte strings (``out``)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from enum import Enum
from typing import Any

from gateway.codegen import Source, build, identifier
from gateway.envelope.binary import _wire
from gateway.envelope.binary._types import base, describe, named_types, optional

__all__ = ["NAME_BLOCKS", "generate_template", "generate_writer"]

NAME_BLOCKS: dict[tuple[str, ...], bytes] = {}
"""Encoded string-array blocks (count, then each string) of envelope records, by content: the
field names an audit record or reply lists recur from one message to the next."""
_NAME_BLOCKS_MAX = 8192
_ENVELOPE_NAMESPACE = "dx.gateway"


def _name_block(names: tuple[str, ...]) -> bytes:
    """Encode and remember the block of a non-empty array of names."""
    out = [_wire.long_bytes(len(names))]
    for name in names:
        raw = name.encode()
        out += (_wire.long_bytes(len(raw)), raw)
    block = b"".join(out)
    if len(NAME_BLOCKS) >= _NAME_BLOCKS_MAX:
        NAME_BLOCKS.clear()
    NAME_BLOCKS[names] = block
    return block


_ENV: dict[str, Any] = {
    "SMALL": _wire.SMALL,
    "encode_long": _wire.encode_long,
    "EPOCH": _wire.EPOCH,
    "EPOCH_ORDINAL": _wire.EPOCH_ORDINAL,
    "MS": _wire.MS,
    "DOUBLE": _wire.DOUBLE,
    "Enum": Enum,
    "NAMES": NAME_BLOCKS,
    "name_block": _name_block,
}
_TIMEZONE = 'raise ValueError("timestamps must be timezone-aware")'


class _Generator:
    """One module of generated writers: the functions of the records it reaches."""

    def __init__(self, schema: Any) -> None:
        self.source = Source(_ENV)
        self.env = dict(_ENV)
        self.named = named_types(schema)
        self._owed: list[dict[str, Any]] = []
        self._made: set[str] = set()

    def functions_owed(self) -> None:
        while self._owed:
            self.source.blank()
            self.record_function(self._owed.pop(0))

    def record_function(self, schema: dict[str, Any]) -> str:
        src, name = self.source, f"write_{identifier(schema['name'])}"
        with src.scope(), src.block(f"def {name}(out, record):"):
            src.line(f'"""Append the encoding of a {schema["name"]} record to ``out``."""')
            with src.block("if type(record) is not dict:"):
                src.line("record = record.__dict__")
            src.line("append = out.append")
            for field in schema["fields"]:
                self.field(schema, field, "record")
        return name

    def field(self, record: dict[str, Any], field: dict[str, Any], source: str) -> None:
        self.source.line(f"# {field['name']}: {describe(field['type'])}")
        names = str(record["name"]).startswith(f"{_ENVELOPE_NAMESPACE}.")
        self.value(field["type"], f"{source}[{field['name']!r}]", field["name"], names=names)

    def value(self, schema: Any, value: str, hint: str, *, names: bool) -> None:
        """Append the encoding of expression ``value``, of type ``schema``. With ``names``, its
        string arrays hold names (envelope records: fields, paths), few and recurring, never
        values: each array's encoding is looked up in, or added to, ``NAMES``."""
        src = self.source
        schema = self.named.get(schema, schema) if isinstance(schema, str) else schema
        if isinstance(schema, list):
            inner = optional(schema)
            value = self._bound(value, hint)
            with src.block(f"if {value} is None:"):
                src.line('append(b"\\x00")')
            with src.block("else:"):
                src.line('append(b"\\x02")')
                self.value(inner, value, hint, names=names)
            return
        kind = schema["type"] if isinstance(schema, dict) else None
        if kind == "record":
            name = f"write_{identifier(schema['name'])}"
            if name not in self._made:
                self._made.add(name)
                self._owed.append(schema)
            src.line(f"{name}(out, {value})")
        elif kind == "enum":
            index = f"INDEX_{identifier(schema['name'])}"
            self.env[index] = {s: _wire.long_bytes(i) for i, s in enumerate(schema["symbols"])}
            value = self._bound(value, hint)
            src.line(f"append({index}[{value}.value if isinstance({value}, Enum) else {value}])")
        elif kind == "array" and schema["items"] == "string" and names:
            with src.scope():
                items, key = src.local(hint), src.local("key")
                src.line(f"{items} = {value}")
                with src.block(f"if {items}:"):
                    src.line(f"{key} = tuple({items})")
                    src.line(f"encoded = NAMES.get({key})")
                    src.line(f"append(encoded if encoded is not None else name_block({key}))")
                src.line('append(b"\\x00")')
        elif kind in ("array", "map"):
            self._blocks(schema, value, hint, names=names)
        else:
            self._primitive(schema, value, hint)

    def _blocks(self, schema: dict[str, Any], value: str, hint: str, *, names: bool) -> None:
        src = self.source
        with src.scope():
            items, item = src.local(hint), src.local("item")
            src.line(f"{items} = {value}")
            with src.block(f"if {items}:"):
                src.line(f"size = len({items})")
                src.line("append(SMALL[size + 64] if size < 64 else encode_long(size))")
                if schema["type"] == "array":
                    with src.block(f"for {item} in {items}:"):
                        self.value(schema["items"], item, "item", names=names)
                else:
                    key = src.local("key")
                    with src.block(f"for {key}, {item} in {items}.items():"):
                        self._primitive("string", key, "key")
                        self.value(schema["values"], item, "item", names=names)
            src.line('append(b"\\x00")')

    def _primitive(self, schema: Any, value: str, hint: str) -> None:
        src = self.source
        kind, logical = base(schema)
        if logical == "timestamp-millis":
            value = self._bound(value, hint)
            with src.block(f"if {value}.tzinfo is None:"):
                src.line(_TIMEZONE)
            src.line(f"number = ({value} - EPOCH) // MS")
        elif logical == "date":
            src.line(f"number = {value}.toordinal() - EPOCH_ORDINAL")
        elif kind in ("int", "long"):
            src.line(f"number = {value}")
        if kind in ("int", "long"):
            src.line("append(SMALL[number + 64] if -64 <= number < 64 else encode_long(number))")
        elif kind in ("string", "bytes"):
            src.line(
                f"encoded = {value}.encode()" if kind == "string" else f"encoded = bytes({value})"
            )
            src.line("size = len(encoded)")
            src.line("append(SMALL[size + 64] if size < 64 else encode_long(size))")
            src.line("append(encoded)")
        elif kind == "boolean":
            src.line(f'append(b"\\x01" if {value} else b"\\x00")')
        elif kind == "double":
            src.line(f"append(DOUBLE.pack({value}))")

    def _bound(self, value: str, hint: str) -> str:
        """``value`` itself if it is a local, else a new local holding it."""
        if value.isidentifier():
            return value
        local = self.source.local(hint)
        self.source.line(f"{local} = {value}")
        return local


def generate_writer(schema: Any) -> Callable[[list[bytes], Any], None]:
    gen = _Generator(schema)
    if isinstance(schema, dict) and schema["type"] == "record":
        entry, name = gen.record_function(schema), str(schema["name"])
    else:
        entry, name = "write_value", describe(schema)
        with gen.source.block("def write_value(out, value):"):
            gen.source.line("append = out.append")
            gen.value(schema, "value", "value", names=False)
    gen.functions_owed()
    return build(gen.source, f"avro writer {name}", entry, gen.env)  # type: ignore[no-any-return]


def generate_template(
    schema: dict[str, Any], holes: Collection[str]
) -> Callable[[Mapping[str, Any]], Callable[[list[bytes], Any], None]]:
    """``make_template(constants)``: a writer of ``schema`` records that takes only the fields
    in ``holes`` from its argument (a mapping); each run of the other fields is encoded once,
    from ``constants``, into one chunk. A timestamp hole remembers its last value and that
    value's encoding: the gateway stamps every message of a batch with the batch's one ``now``.
    The writer's ``segments`` are its chunks (bytes) and holes (field names), in order.
    """
    gen = _Generator(schema)
    src, fields = gen.source, schema["fields"]
    runs: list[list[dict[str, Any]]] = [[]]
    for field in fields:
        if field["name"] in holes:
            runs.append([])
        else:
            runs[-1].append(field)
    name = (
        f"{schema['name']} with holes {', '.join(f['name'] for f in fields if f['name'] in holes)}"
    )
    with src.block("def make_template(constants):"):
        src.line(f'"""A writer of {name}; the other fields are those of ``constants``."""')
        src.line("out = []")
        src.line("append = out.append")
        chunks: list[str] = []
        for run in runs:
            if run:
                chunks.append(src.local(f"chunk_{len(chunks) + 1}"))
                for field in run:
                    gen.field(schema, field, "constants")
                src.line(f'{chunks[-1]} = b"".join(out)')
                src.line("out.clear()")
        memos = {f["name"]: src.local(f"last_{f['name']}") for f in fields if _memo(f, holes)}
        for memo in memos.values():
            src.line(f'{memo} = [(None, b"")]  # a time and its encoding')
        with src.block("def write(out, record):"):
            src.line("append = out.append")
            run_chunks = iter(chunks)
            segments = []
            for run, hole in zip(
                runs, [None, *(f for f in fields if f["name"] in holes)], strict=True
            ):
                if hole is not None:
                    segments.append(repr(hole["name"]))
                    if hole["name"] in memos:
                        _memo_timestamp(src, hole["name"], memos[hole["name"]])
                    else:
                        gen.field(schema, hole, "record")
                if run:
                    segments.append(next(run_chunks))
                    src.line(f"append({segments[-1]})")
        src.line("# the message as chunks and holes, for the C writer (native.py)")
        src.line(f"write.segments = ({', '.join(segments)},)")
        src.line("return write")
    gen.functions_owed()
    return build(gen.source, f"avro template {name}", "make_template", gen.env)  # type: ignore[no-any-return]


def _memo(field: dict[str, Any], holes: Collection[str]) -> bool:
    avro = field["type"]
    return (
        field["name"] in holes
        and isinstance(avro, dict)
        and avro.get("logicalType") == "timestamp-millis"
    )


def _memo_timestamp(src: Source, name: str, memo: str) -> None:
    src.line(f"# {name}: timestamp-millis, the last one's encoding remembered")
    src.line(f"moment = record[{name!r}]")
    src.line(f"last = {memo}[0]")
    with src.block("if moment is not last[0]:"):
        with src.block("if moment.tzinfo is None:"):
            src.line(_TIMEZONE)
        src.line("number = (moment - EPOCH) // MS")
        src.line("encoded = SMALL[number + 64] if -64 <= number < 64 else encode_long(number)")
        src.line(f"last = {memo}[0] = (moment, encoded)")
    src.line("append(last[1])")
