"""HMAC-SHA256 with its key's pads hashed once: for MACs taken per record.

``hmac.digest`` hashes the padded key afresh on every call; the gateway takes two MACs per
record under keys fixed for its lifetime (approval tokens, subject keys). Hashing the inner and
outer pads once and hashing on from copies of the two states per message
(:mod:`gateway.envelope.digests`) gives the same digest (RFC 2104) in half the time with
``hashlib``, and in a quarter with the C hash.
"""

from __future__ import annotations

import hashlib

from gateway.envelope.digests import prefixed_sha256

__all__ = ["HmacSha256"]

_BLOCK = 64  # SHA-256's block size in bytes
_INNER = bytes(0x36 for _ in range(_BLOCK))
_OUTER = bytes(0x5C for _ in range(_BLOCK))


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


class HmacSha256:
    """HMAC-SHA256 under one key, byte for byte ``hmac.digest(key, message, "sha256")``."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        block = key.ljust(_BLOCK, b"\x00")
        self._inner = prefixed_sha256(_xor(block, _INNER))
        self._outer = prefixed_sha256(_xor(block, _OUTER))

    def digest(self, message: bytes) -> bytes:
        """The 32-byte MAC of ``message``."""
        return self._outer.digest(self._inner.digest(message))
