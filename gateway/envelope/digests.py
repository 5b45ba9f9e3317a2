"""SHA-256 of a fixed prefix and then a message: HMAC's pads, a Merkle leaf's or node's tag.

The prefix is hashed once; each message hashes on from a copy of that state. Where ``pip
install`` could build it (``setup.py``: OpenSSL's headers and libcrypto), the copy and the hash
are C (:mod:`gateway._hashes`), a third of the time of ``hashlib``'s copy, update and
digest, which stays the fallback and the reference (also with ``GATEWAY_PURE_PYTHON=1``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from gateway import extensions

__all__ = ["AVAILABLE", "PrefixedSha256", "PythonPrefixedSha256", "prefixed_sha256"]


class PrefixedSha256(Protocol):
    def digest(self, message: bytes) -> bytes:
        """``hashlib.sha256(prefix + message).digest()``."""
        ...


class PythonPrefixedSha256:
    """:class:`PrefixedSha256` with ``hashlib``."""

    __slots__ = ("_start",)

    def __init__(self, prefix: bytes) -> None:
        self._start = hashlib.sha256(prefix)

    def digest(self, message: bytes) -> bytes:
        state = self._start.copy()
        state.update(message)
        return state.digest()


_CPrefixedSha256: Callable[[bytes], PrefixedSha256] | None
try:
    from gateway._hashes import PrefixedSha256 as _CPrefixedSha256
except ImportError:  # not built: no compiler, Python headers or OpenSSL headers at install
    _CPrefixedSha256 = None

AVAILABLE = _CPrefixedSha256 is not None and extensions.wanted()
"""Whether :func:`prefixed_sha256` gives the C one."""


def prefixed_sha256(prefix: bytes) -> PrefixedSha256:
    """The hash of ``prefix`` followed by each message: the C one where built."""
    if AVAILABLE:
        assert _CPrefixedSha256 is not None
        return _CPrefixedSha256(bytes(prefix))
    return PythonPrefixedSha256(prefix)
