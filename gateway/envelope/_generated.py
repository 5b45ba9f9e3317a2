"""Straight-line Python source for record readers and writers (see :mod:`gateway.envelope.binary`).

A tree of closures pays a function call per field; for the flat records on the gateway's hot
path (audit records, requests, replies) that call costs more than the encoding. These functions
write each common field type (strings, longs, timestamps, enums, optional strings and timestamps,
arrays and maps of strings) inline and call the closure only for anything else. The output is
checked against fastavro in the tests, like the closures.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

__all__ = ["build", "record_reader_source", "record_writer_source", "template_writer_source"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def _kind(avro: Any) -> str:
    """A short name for field types written inline; "" for everything else."""
    if isinstance(avro, str):
        return avro if avro in ("string", "long", "int", "boolean") else ""
    if isinstance(avro, list):
        if avro == ["null", "string"]:
            return "opt_string"
        if avro == ["null", {"type": "long", "logicalType": "timestamp-millis"}]:
            return "opt_timestamp"
        return ""
    kind, logical = avro.get("type"), avro.get("logicalType")
    if kind == "long" and logical == "timestamp-millis":
        return "timestamp"
    if kind == "enum":
        return "enum"
    if kind == "array" and avro.get("items") == "string":
        return "strings"
    if kind == "map" and avro.get("values") == "string":
        return "string_map"
    if kind in ("string", "long", "int", "boolean") and logical is None:
        return str(kind)
    return ""


# --- readers ------------------------------------------------------------------------------------

_LONG = """{i}b = data[pos]
{i}if b < 128:
{i}    {n} = (b >> 1) ^ -(b & 1)
{i}    pos += 1
{i}else:
{i}    {n}, pos = read_long(data, pos)
"""

_STRING = (
    _LONG
    + """{i}e = pos + {n}
{i}if {n} < 0:
{i}    raise ValueError("negative length")
{i}if e > size:
{i}    raise IndexError("string runs past the end")
{i}{target} = data[pos:e].decode()
{i}pos = e
"""
)

_BLOCKS = (
    """{i}{var} = {empty}
{i}while True:
"""
    + _LONG.replace("{i}", "{i}    ").replace("{n}", "c")
    + """{i}    if c == 0:
{i}        break
{i}    if c < 0:
{i}        c = -c
{i}        _, pos = read_long(data, pos)
{i}    for _ in range(c):
"""
)


def record_reader_source(fields: Sequence[dict[str, Any]]) -> str:
    lines = ["def read(data, pos):", "    size = len(data)", "    r = {}"]
    for index, field in enumerate(fields):
        name, kind, i = repr(field["name"]), _kind(field["type"]), "    "
        target = f"r[{name}]"
        if kind == "string":
            lines.append(_STRING.format(i=i, n="n", target=target))
        elif kind in ("long", "int"):
            lines.append(_LONG.format(i=i, n=target))
        elif kind == "boolean":
            lines.append(f"{i}{target} = data[pos] == 1\n{i}pos += 1")
        elif kind == "timestamp":
            lines.append(_LONG.format(i=i, n="n") + f"{i}{target} = EPOCH + n * MS")
        elif kind == "enum":
            lines.append(
                _LONG.format(i=i, n="n")
                + f"{i}if n < 0:\n{i}    raise ValueError('enum index out of range')\n"
                + f"{i}{target} = SYMBOLS[{index}][n]"
            )
        elif kind == "opt_string":
            lines.append(
                f"{i}u = data[pos]\n{i}pos += 1\n{i}if u == 0:\n{i}    {target} = None\n"
                f"{i}elif u == 2:\n"
                + _STRING.format(i=i + "    ", n="n", target=target)
                + f"{i}else:\n{i}    raise ValueError('union branch out of range')"
            )
        elif kind == "opt_timestamp":
            lines.append(
                f"{i}u = data[pos]\n{i}pos += 1\n{i}if u == 0:\n{i}    {target} = None\n"
                f"{i}elif u == 2:\n"
                + _LONG.format(i=i + "    ", n="n")
                + f"{i}    {target} = EPOCH + n * MS\n"
                + f"{i}else:\n{i}    raise ValueError('union branch out of range')"
            )
        elif kind == "strings":
            lines.append(
                _BLOCKS.format(i=i, var="items", empty="[]")
                + _STRING.format(i=i + "        ", n="n", target="s")
                + f"{i}        items.append(s)\n{i}{target} = items"
            )
        elif kind == "string_map":
            lines.append(
                _BLOCKS.format(i=i, var="entries", empty="{}")
                + _STRING.format(i=i + "        ", n="n", target="k")
                + _STRING.format(i=i + "        ", n="n", target="entries[k]")
                + f"{i}{target} = entries"
            )
        else:
            lines.append(f"{i}{target}, pos = FIELDS[{index}](data, pos)")
    lines.append("    return r, pos")
    return "\n".join(lines) + "\n"


# --- writers ------------------------------------------------------------------------------------

_WRITE_LONG = "{i}ap(SMALL[{v} + 64] if -64 <= {v} < 64 else encode_long({v}))\n"
_WRITE_STRING = "{i}x = {v}.encode()\n" + _WRITE_LONG.format(i="{i}", v="len(x)") + "{i}ap(x)\n"


def record_writer_source(fields: Sequence[dict[str, Any]], *, names: bool = False) -> str:
    """``names``: the record's string arrays hold names (see :func:`_field_writer_source`)."""
    lines = [
        "def write(out, v):",
        "    if type(v) is not dict:",
        "        v = v.__dict__",
        "    ap = out.append",
    ]
    lines += [_field_writer_source(i, field, names=names) for i, field in enumerate(fields)]
    return "\n".join(lines) + "\n"


def template_writer_source(
    fields: Sequence[dict[str, Any]], holes: Collection[str], *, names: bool = False
) -> str:
    """Source of ``make(C)``, which returns a writer of the record with only the fields named in
    ``holes`` taken from its argument (a dict) and each run of the other fields appended as one
    pre-encoded chunk, ``C[k]`` for the ``k``-th run. Timestamp holes remember their last value
    and its encoding, as one tuple."""
    lines = ["def make(C):"]
    body = ["    def write(out, v):", "        ap = out.append"]
    run, chunks = False, 0
    for index, field in enumerate(fields):
        if field["name"] in holes and _kind(field["type"]) == "timestamp":
            lines.append(f"    T{index} = [(None, b'')]")
            source = _MEMO_TIMESTAMP.format(i="    ", v=f"v[{field['name']!r}]", m=f"T{index}")
            body.append("\n".join("    " + line for line in source.split("\n")))
            run = False
        elif field["name"] in holes:
            source = _field_writer_source(index, field, names=names)
            body.append("\n".join("    " + line for line in source.split("\n")))
            run = False
        elif not run:
            body.append(f"        ap(C[{chunks}])")
            run, chunks = True, chunks + 1
    body.append("    return write")
    return "\n".join(lines + body) + "\n"


_MEMO_TIMESTAMP = """{i}t = {v}
{i}m = {m}[0]
{i}if t is not m[0]:
{i}    if t.tzinfo is None:
{i}        raise ValueError('timestamps must be timezone-aware')
{i}    n = (t - EPOCH) // MS
{i}    m = {m}[0] = (t, SMALL[n + 64] if -64 <= n < 64 else encode_long(n))
{i}ap(m[1])"""
"""A timestamp hole remembers its last value's encoding: the gateway stamps every message of
a batch with the batch's one ``now``."""


def _field_writer_source(index: int, field: dict[str, Any], *, names: bool = False) -> str:
    """Inline code appending field ``index`` of a record, read from ``v``, to ``out``. With
    ``names``, its string arrays hold names (fields, paths), few and recurring, never values:
    each array's encoding is looked up in, or added to, the ``NAMES`` memo."""
    value, kind, i = f"v[{field['name']!r}]", _kind(field["type"]), "    "
    if kind == "string":
        return _WRITE_STRING.format(i=i, v=value)
    if kind in ("long", "int"):
        return f"{i}n = {value}\n" + _WRITE_LONG.format(i=i, v="n")
    if kind == "boolean":
        return f"{i}ap(b'\\x01' if {value} else b'\\x00')"
    if kind == "timestamp":
        return (
            f"{i}t = {value}\n{i}if t.tzinfo is None:\n"
            f"{i}    raise ValueError('timestamps must be timezone-aware')\n"
            f"{i}n = (t - EPOCH) // MS\n" + _WRITE_LONG.format(i=i, v="n")
        )
    if kind == "enum":
        return f"{i}s = {value}\n{i}ap(INDEX[{index}][s.value if isinstance(s, Enum) else s])"
    if kind == "opt_string":
        return (
            f"{i}s = {value}\n{i}if s is None:\n{i}    ap(b'\\x00')\n{i}else:\n"
            f"{i}    ap(b'\\x02')\n" + _WRITE_STRING.format(i=i + "    ", v="s")
        )
    if kind == "opt_timestamp":
        return (
            f"{i}t = {value}\n{i}if t is None:\n{i}    ap(b'\\x00')\n{i}else:\n"
            f"{i}    if t.tzinfo is None:\n"
            f"{i}        raise ValueError('timestamps must be timezone-aware')\n"
            f"{i}    ap(b'\\x02')\n{i}    n = (t - EPOCH) // MS\n"
            + _WRITE_LONG.format(i=i + "    ", v="n")
        )
    if kind == "strings" and names:
        return (
            f"{i}items = {value}\n{i}if items:\n{i}    key = tuple(items)\n"
            f"{i}    x = NAMES.get(key)\n{i}    ap(x if x is not None else name_block(key))\n"
            f"{i}ap(b'\\x00')"
        )
    if kind == "strings":
        return (
            f"{i}items = {value}\n{i}if items:\n"
            + _WRITE_LONG.format(i=i + "    ", v="len(items)")
            + f"{i}    for s in items:\n"
            + _WRITE_STRING.format(i=i + "        ", v="s")
            + f"{i}ap(b'\\x00')"
        )
    if kind == "string_map":
        return (
            f"{i}entries = {value}\n{i}if entries:\n"
            + _WRITE_LONG.format(i=i + "    ", v="len(entries)")
            + f"{i}    for k, s in entries.items():\n"
            + _WRITE_STRING.format(i=i + "        ", v="k")
            + _WRITE_STRING.format(i=i + "        ", v="s")
            + f"{i}ap(b'\\x00')"
        )
    return f"{i}FIELDS[{index}](out, {value})"


def build(source: str, name: str, **env: Any) -> Callable[..., Any]:
    """Compile generated ``source`` (defining ``name``) with the helpers it refers to."""
    namespace: dict[str, Any] = {
        "EPOCH": _EPOCH,
        "MS": _MS,
        "Enum": Enum,
        "date": date,
        **env,
    }
    exec(compile(source, f"<avro {name}>", "exec"), namespace)
    return namespace[name]  # type: ignore[no-any-return]
