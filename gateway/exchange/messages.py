"""Kafka coordinates kept apart from payloads: what the processor reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BatchOutputs", "InputMessage", "OutputMessage"]


@dataclass(frozen=True, slots=True)
class InputMessage:
    """One consumed record: where it came from, and its raw bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    replay_of: str | None = None
    """The dead letter this record replays (its ``dx-replay-of`` header), if any."""


@dataclass(frozen=True, slots=True)
class OutputMessage:
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
