"""The pieces of the Avro binary encoding that generated code and single-field readers share."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "DOUBLE",
    "EPOCH",
    "EPOCH_ORDINAL",
    "LONG_OF_BYTE",
    "MS",
    "SIZE_OF_BYTE",
    "SMALL",
    "encode_long",
    "long_bytes",
    "read_long",
    "read_size",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
MS = timedelta(milliseconds=1)
DOUBLE = struct.Struct("<d")


def encode_long(n: int) -> bytes:
    """The zigzag varint of ``n``."""
    n = (n << 1) ^ (n >> 63)
    out = []  # a list of ints, then bytes(): a third faster than a growing bytearray
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


SMALL = tuple(encode_long(i) for i in range(-64, 64))
"""The encodings of -64 to 63, at index ``n + 64``: they take one byte."""
LONG_OF_BYTE = tuple((b >> 1) ^ -(b & 1) if b < 0x80 else None for b in range(256))
"""The value of each one-byte zigzag varint; None where more bytes follow."""
SIZE_OF_BYTE = tuple(b >> 1 if b < 0x80 and not b & 1 else -1 for b in range(256))
"""The length each one-byte varint gives; -1 where more bytes follow or it is negative."""


def long_bytes(n: int) -> bytes:
    return SMALL[n + 64] if -64 <= n < 64 else encode_long(n)


def read_long(data: bytes, pos: int) -> tuple[int, int]:
    """The zigzag varint at ``pos``: its value and the position after it; IndexError if the data
    ends inside it, ValueError if it is longer than a long's ten bytes. (Generated readers look
    one-byte varints up in :data:`LONG_OF_BYTE` and call this for longer ones.)"""
    b = data[pos]
    if b < 0x80:
        return (b >> 1) ^ -(b & 1), pos + 1
    n, shift = b & 0x7F, 7
    for end in range(pos + 1, pos + 10):
        b = data[end]
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return (n >> 1) ^ -(n & 1), end + 1
        shift += 7
    raise ValueError("varint too long")


def read_size(data: bytes, pos: int) -> tuple[int, int]:
    """A string, bytes or block length of any size; ValueError if it is negative."""
    size, pos = read_long(data, pos)
    if size < 0:
        raise ValueError("negative length")
    return size, pos
