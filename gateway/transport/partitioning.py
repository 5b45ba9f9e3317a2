"""The partition of a keyed record: the producer's default partitioner, computed in one place.

The batched writer (:mod:`gateway.transport.produce`) fills partitions itself, and the cap keeper
(:mod:`gateway.transport.volume_restore`) must find each cap key's records where that writer
put them: both ask :func:`key_partition`, so they cannot disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from aiokafka.partitioner import murmur2 as _python_murmur2

from gateway import extensions

__all__ = ["AVAILABLE", "key_partition"]

_c_murmur2: Callable[[bytes], int] | None
try:
    from gateway._hashes import murmur2 as _c_murmur2
except ImportError:  # not built (see setup.py)
    _c_murmur2 = None

AVAILABLE = _c_murmur2 is not None and extensions.wanted()
"""Whether the key hash is the C murmur2 (``gateway._hashes``) rather than aiokafka's."""


def key_partition(key: bytes, partitions: int) -> int:
    """The index among ``partitions`` sorted partitions that aiokafka's (and the Java client's)
    default partitioner picks for ``key``: murmur2 of the key, made positive, modulo the count."""
    return _key_hash(key) % partitions


_REMEMBERED_KEYS = 65_536
"""Key hashes the pure-Python murmur2 remembers, about 11 MB: a response's reply is keyed by its
request's id, so its hash is remembered from the request's routed message while at most this
many other requests are in flight (about three seconds' worth at 20k requests a second)."""


def _c_key_hash(key: bytes) -> int:
    assert _c_murmur2 is not None
    return _c_murmur2(key) & 0x7FFFFFFF


@functools.lru_cache(maxsize=_REMEMBERED_KEYS)
def _python_key_hash(key: bytes) -> int:
    """Cached: aiokafka's pure-Python murmur2 costs about 3.5 us for a request id, the C one
    about a thirtieth of that, less than a cache lookup."""
    return int(_python_murmur2(key)) & 0x7FFFFFFF


_key_hash: Callable[[bytes], int] = _c_key_hash if AVAILABLE else _python_key_hash
