"""Kafka coordinates kept apart from payloads: what the processor reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["BatchOutputs", "InputMessage", "OutputMessage"]


class InputMessage(NamedTuple):
    """One consumed record: where it came from, and its raw bytes.

    Named tuples rather than frozen dataclasses, here and below: one is built for every record
    read and two or three for every record written, and a named tuple is built in half the
    time."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    replay_of: str | None = None
    """The dead letter this record replays (its ``dx-replay-of`` header), if any."""


class OutputMessage(NamedTuple):
    """One record to write."""

    topic: str
    key: bytes | None
    value: bytes
    partition: int | None = None
    """Where to write it; None lets the producer choose by key. Audit records name theirs, since
    each audit partition holds one hash chain."""
    headers: list[tuple[str, bytes]] | None = None
    """Kafka headers (a list, as aiokafka's record builder takes them): the gateway's signature
    on what departments receive."""


@dataclass(slots=True)
class BatchOutputs:
    """What one batch of input produces.

    ``audit`` must be acknowledged by Kafka before anything in ``routed`` is sent (fail closed);
    ``routed`` holds inbox requests, replies and dead letters.
    """

    audit: list[OutputMessage] = field(default_factory=list)
    routed: list[OutputMessage] = field(default_factory=list)
    seen_keys: list[tuple[str, str, str]] = field(default_factory=list)
    """De-duplication keys this batch added; forgotten again if its outputs are not written."""

    def __len__(self) -> int:
        return len(self.audit) + len(self.routed)
