"""The partition of a keyed record: the producer's default partitioner, computed in one place.

The batched writer (:mod:`gateway.transport.produce`) fills partitions itself, and the cap keeper
(:mod:`gateway.transport.volume_restore`) must find each cap key's records where that writer
put them: both ask :func:`key_partition`, so they cannot disagree.
"""

from __future__ import annotations

import functools

from aiokafka.partitioner import murmur2

__all__ = ["key_partition"]


def key_partition(key: bytes, partitions: int) -> int:
    """The index among ``partitions`` sorted partitions that aiokafka's (and the Java client's)
    default partitioner picks for ``key``: murmur2 of the key, made positive, modulo the count."""
    return _key_hash(key) % partitions


_REMEMBERED_KEYS = 65_536
"""Key hashes remembered, about 11 MB: a response's reply is keyed by its request's id, so its
hash is remembered from the request's routed message while at most this many other requests are
in flight (about three seconds' worth at 20k requests a second)."""


@functools.lru_cache(maxsize=_REMEMBERED_KEYS)
def _key_hash(key: bytes) -> int:
    """Cached: a request's routed message and its response's reply share the key (the request
    id), and the pure-Python murmur2 costs about 3.5 µs for a request id."""
    return int(murmur2(key)) & 0x7FFFFFFF
