"""Recognise an exchange seen before, so a redelivered or replayed message is not answered twice.

The memory is bounded, while an approval token stays valid for ``GATEWAY_TOKEN_TTL_SECONDS``
(24 h by default): a provider's response can be replayed for as long as its token is valid. So the
memory keeps a **replay horizon**, and the response path relies on one invariant:

    Every response released at or after the horizon is still remembered.

A remembered response carries the time it was released (at least its token's issue time). When
the memory forgets one (eviction at capacity), the horizon moves up to that time; when the memory
is rebuilt at start and cannot reach back a whole token lifetime (more replies than it can hold,
data deleted from the replies topic), the rebuilder moves the horizon to the latest release it
could not read (:func:`gateway.transport.recall.recall_recent_outputs`). A response whose token
was issued at or before the horizon may have been released already without the gateway being
able to tell, so the response path refuses it (fail closed, ``exchange.before_replay_horizon``).
Neither the capacity nor the order of eviction matters to the argument: the horizon is the
maximum over everything forgotten.

Keys without a time (requests) never move the horizon; they are best effort, as before.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from datetime import datetime

__all__ = ["SeenIds"]


class SeenIds:
    """A bounded set of recently seen keys, the oldest forgotten first, and the horizon below
    which the set can no longer vouch for what it forgot."""

    __slots__ = ("_capacity", "_horizon", "_keys")

    def __init__(self, capacity: int = 1_000_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._keys: OrderedDict[Hashable, datetime | None] = OrderedDict()
        self._horizon: datetime | None = None

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def horizon(self) -> datetime | None:
        """The latest time of anything forgotten or never read; None while nothing was."""
        return self._horizon

    def add(self, key: Hashable, at: datetime | None = None) -> bool:
        """Remember ``key``, released at ``at``; True if it is new, False if already seen.

        Evicting a key that has a time moves the horizon up to that time.
        """
        if key in self._keys:
            return False
        self._keys[key] = at
        if len(self._keys) > self._capacity:
            _, forgotten = self._keys.popitem(last=False)
            if forgotten is not None:
                self.cannot_vouch_until(forgotten)
        return True

    def cannot_vouch_until(self, at: datetime) -> None:
        """Record that releases up to ``at`` may have happened without being remembered."""
        if self._horizon is None or at > self._horizon:
            self._horizon = at

    def before_horizon(self, at: datetime) -> bool:
        """Whether something issued at ``at`` is at or before the horizon: not vouched for."""
        return self._horizon is not None and at <= self._horizon

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` without moving the horizon: used when a batch's outputs could not be
        written, so nothing it marked was released."""
        self._keys.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)
