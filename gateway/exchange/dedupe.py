"""Recognise a request id seen before, so a redelivered message is not answered twice."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["SeenIds"]


class SeenIds:
    """A bounded set of recently seen keys; the oldest are forgotten first.

    Kafka redelivers after a rebalance or a restart that happened between writing outputs and
    committing offsets, so duplicates arrive close to the original; the capacity only has to
    cover that window.
    """

    __slots__ = ("_capacity", "_keys")

    def __init__(self, capacity: int = 1_000_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._keys: OrderedDict[Hashable, None] = OrderedDict()

    def add(self, key: Hashable) -> bool:
        """Remember ``key``; True if it is new, False if it was already seen."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
        return True

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` (used when a batch's outputs could not be written)."""
        self._keys.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)
