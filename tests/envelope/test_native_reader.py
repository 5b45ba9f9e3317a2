"""The C reader gives what the generated Python reader gives, for every schema and any bytes:
the same value for a valid message, the same error for a broken one."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from avro_support import EPOCH, REGISTRY, SCHEMAS, encoded, values
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.envelope.binary import compile_reader, native
from gateway.envelope.binary._types import named_types


def outcome(read: Any, data: bytes) -> str:
    """A reader's value and end, or its error's type and message, as their ``repr``: broken
    bytes can read as a NaN, which equals no other NaN but prints as the same text."""
    try:
        return repr(read(data, 0))
    except Exception as exc:
        return repr((type(exc), str(exc)))


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_valid_message_reads_as_the_python_reader_does(name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    value = data.draw(values(schema, named_types(schema)))
    message = encoded(schema, value)
    c_reader, python_reader = compile_reader(schema), compile_reader(schema, native=False)

    assert c_reader(message, 0) == python_reader(message, 0) == (value, len(message))


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_broken_message_gets_the_python_readers_answer(name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    message = bytearray(encoded(schema, data.draw(values(schema, named_types(schema)))))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.integers(0, len(message)))
        change = data.draw(st.sampled_from(["set", "cut", "insert"]))
        if change == "set" and where < len(message):
            message[where] = data.draw(st.integers(0, 255))
        elif change == "cut":
            del message[where:]
        else:
            message[where:where] = data.draw(st.binary(min_size=1, max_size=10))
    broken = bytes(message)

    c_reader, python_reader = compile_reader(schema), compile_reader(schema, native=False)
    assert outcome(c_reader, broken) == outcome(python_reader, broken)


def test_a_value_beyond_a_c_long_is_read_as_python_reads_it() -> None:
    schema = {"type": "record", "name": "Big", "fields": [{"name": "n", "type": "long"}]}
    ten_bytes = bytes([0xFF] * 9 + [0x7F])  # 70 bits: no long, but Python's varint reads it

    c_reader, python_reader = compile_reader(schema), compile_reader(schema, native=False)
    assert c_reader(ten_bytes, 0) == python_reader(ten_bytes, 0)
    assert abs(c_reader(ten_bytes, 0)[0]["n"]) > 2**63


def test_bytes_of_another_type_and_offsets_past_a_header_read_alike() -> None:
    schema = SCHEMAS["EveryType"]
    value = {
        "flag": True,
        "small": -5,
        "big": 2**40,
        "real": 0.25,
        "text": "Zoë",
        "blob": b"\x00\xff",
        "at": EPOCH + timedelta(days=20_000, milliseconds=7),
        "day": date(2024, 2, 29),
        "colour": "G",
        "maybe": None,
        "tags": {"a": [1, -1], "b": []},
        "children": [{"name": "Ann", "born": date(2019, 9, 1)}, {"name": None, "born": None}],
        "nothing": None,
    }
    message = b"HEADER" + encoded(schema, value)
    c_reader, python_reader = compile_reader(schema), compile_reader(schema, native=False)

    assert c_reader(message, 6) == python_reader(message, 6) == (value, len(message))
    assert c_reader(bytearray(message), 6) == python_reader(bytearray(message), 6)


def test_the_c_reader_is_built_and_used_here() -> None:
    """The machines this project targets have a C compiler and Python's headers: ``pip install``
    builds the C reader there, and the codec's readers are C ones."""
    assert native.AVAILABLE, "gateway.envelope.binary._native was not built (see setup.py)"
    reader = REGISTRY.get("dx.gateway.ExchangeRequest").read
    assert type(reader).__name__ == "NativeReader"


def test_without_the_c_reader_every_reader_is_the_generated_python_one() -> None:
    script = (
        "from gateway.envelope.binary import native\n"
        "from gateway.envelope.codec import Codec\n"
        "read = Codec.default().registry.get('dx.gateway.ExchangeRequest').read\n"
        "print(native.AVAILABLE, read.__name__)\n"
    )
    env = {**os.environ, "GATEWAY_PURE_PYTHON": "1"}
    shown = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert shown.stdout.split() == ["False", "read_dx_gateway_ExchangeRequest"]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC),
        datetime(2000, 2, 29, 12, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC),
    ],
)
def test_times_at_the_ends_of_their_range_read_as_python_reads_them(moment: datetime) -> None:
    schema = {"type": "record", "name": "At", "fields": [{"name": "at", "type": TIMESTAMP}]}
    millis = (moment - EPOCH) // timedelta(milliseconds=1)
    c_reader, python_reader = compile_reader(schema), compile_reader(schema, native=False)
    for n in (millis - 1, millis, millis + 1):  # one past either end: Python's error
        message = encoded({"type": "long"}, n)
        assert outcome(c_reader, message) == outcome(python_reader, message)
    assert c_reader(encoded({"type": "long"}, millis), 0)[0]["at"] == moment


TIMESTAMP = {"type": "long", "logicalType": "timestamp-millis"}
