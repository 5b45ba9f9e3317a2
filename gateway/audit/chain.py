"""The audit hash chain: one chain per audit partition, extended one sealed message at a time.

Layout. ``AuditRecord`` and ``AuditCheckpoint`` both begin with ``prev_hash`` (hex SHA-256, 64
characters, so its Avro length prefix is always ``80 01``) and ``sequence`` (an Avro long). Right
after the 10-byte single-object header a verifier therefore finds::

    bytes 10-11  80 01          length of prev_hash
    bytes 12-75  prev_hash      hex SHA-256 of the previous message's complete bytes
    bytes 76-    sequence       zigzag varint

and checks the chain without decoding anything else. A message's hash is the SHA-256 of its
complete bytes, header included. The first message of partition ``p`` links to
:func:`genesis_hash` ``(p)``, which ties sequence 0 to its partition.

Checkpoints are links of the same chain: every ``checkpoint_every`` records, or ``interval``
after the oldest record not yet covered, a signed :class:`AuditCheckpoint` certifies the head
before it. Removing one breaks the chain like removing any record. A partition found empty when
its writer starts (:meth:`AuditChain.start_empty`) is owed a genesis checkpoint at sequence 0, so
a partition that never sees traffic still holds a signed message and verifies as intact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.audit.checkpoint import CheckpointSigner
from gateway.envelope.binary import read_long
from gateway.envelope.codec import Codec, MessageTemplate
from gateway.envelope.digests import prefixed_sha256
from gateway.envelope.models import AuditCheckpoint, AuditRecord
from gateway.errors import ChainBrokenError

__all__ = [
    "CHECKPOINT_KEY",
    "HASH_PREFIX",
    "LINK_END",
    "UNCHAINED_LINK",
    "UNCHAINED_SEQUENCE",
    "AuditChain",
    "ChainHead",
    "genesis_hash",
    "is_checkpoint",
    "message_hash",
    "read_link",
    "read_sequence",
]

CHECKPOINT_KEY = b"audit-checkpoint"
"""Kafka key of checkpoint messages (audit messages go to explicit partitions, so keys only
label them)."""
UNCHAINED_SEQUENCE = -1
"""The sequence of records written with the chain switched off (their ``prev_hash`` is empty)."""
_HEADER_LEN = 10
_HASH_LEN = 64
HASH_PREFIX = b"\x80\x01"
"""What follows the schema header of a chained message: the Avro length (64) of ``prev_hash``."""
UNCHAINED_LINK = b"\x00\x01"
"""What follows it in an unchained record: an empty ``prev_hash``, then sequence -1."""
LINK_END = _HEADER_LEN + len(HASH_PREFIX) + _HASH_LEN
"""Offset of the ``sequence`` varint in a chained message."""


def genesis_hash(partition: int) -> str:
    """What the first message of an audit partition's chain names as its predecessor."""
    return hashlib.sha256(f"dx.gateway.audit/genesis/{partition}".encode()).hexdigest()


_SHA256 = prefixed_sha256(b"")


def message_hash(data: bytes) -> str:
    """A message's hash: hex SHA-256 of its complete bytes."""
    return _SHA256.digest(data).hex()


def read_link(data: bytes) -> tuple[str, int]:
    """``(prev_hash, sequence)`` from a message's raw bytes; ``("", -1)`` for an unchained record.

    Raises :class:`ChainBrokenError` when the bytes do not start with a chain link.
    """
    if data[_HEADER_LEN : _HEADER_LEN + 2] == UNCHAINED_LINK:
        return "", UNCHAINED_SEQUENCE
    if len(data) <= LINK_END or data[_HEADER_LEN : _HEADER_LEN + 2] != HASH_PREFIX:
        raise ChainBrokenError("message does not start with a chain link (prev_hash, sequence)")
    try:
        prev_hash = data[_HEADER_LEN + 2 : LINK_END].decode("ascii")
    except UnicodeDecodeError:
        raise ChainBrokenError("message's prev_hash is not a hex digest") from None
    return prev_hash, read_sequence(data)


def read_sequence(data: bytes) -> int:
    """The ``sequence`` of a chained message: the Avro long (zigzag varint) at ``LINK_END``.

    Raises :class:`ChainBrokenError` when the bytes end inside it or it is longer than a long.
    """
    try:
        return read_long(data, LINK_END)[0]
    except (IndexError, ValueError):
        raise ChainBrokenError("message's sequence is not a valid Avro long") from None


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where a partition's chain stands: the next message's sequence and predecessor hash."""

    sequence: int
    hash: str

    @classmethod
    def genesis(cls, partition: int) -> ChainHead:
        return cls(0, genesis_hash(partition))

    @classmethod
    def after(cls, data: bytes) -> ChainHead | None:
        """The head following message ``data``; None if it is an unchained record."""
        _, sequence = read_link(data)
        if sequence == UNCHAINED_SEQUENCE:
            return None
        return cls(sequence + 1, message_hash(data))


class _PartitionState:
    __slots__ = ("hash", "owed", "pending", "pending_since", "sequence")

    def __init__(self, head: ChainHead, *, owed: bool = False) -> None:
        self.sequence = head.sequence
        self.hash = head.hash
        self.pending = 0
        """Records since the last checkpoint."""
        self.pending_since: datetime | None = None
        """Time of the oldest of them."""
        self.owed = owed
        """A checkpoint is due even without records: the partition was found empty."""

    def link(self, data: bytes, at: datetime | None) -> bytes:
        """Make record ``data``, made at ``at``, the head: the next link follows it."""
        self.sequence += 1
        self.hash = message_hash(data)
        if self.pending == 0:
            self.pending_since = at
        self.pending += 1
        return data


class AuditChain:
    """Seals audit records into per-partition hash chains and interleaves signed checkpoints.

    Pure: no I/O and no clock. The runner sets each partition's head from the audit topic
    (:meth:`set_head`) before records are sealed there; a partition never set starts at genesis.
    With ``chained=False`` records carry no link (``prev_hash`` empty, ``sequence`` -1) and no
    checkpoints are made: that mode exists to measure what the chain costs.
    """

    def __init__(
        self,
        codec: Codec,
        *,
        instance_id: str,
        signer: CheckpointSigner | None = None,
        checkpoint_every: int = 1000,
        checkpoint_interval: timedelta = timedelta(seconds=60),
        chained: bool = True,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self._codec = codec
        self._instance = instance_id
        self._signer = signer if chained else None
        self._every = checkpoint_every
        self._interval = checkpoint_interval
        self.chained = chained
        self._partitions: dict[int, _PartitionState] = {}

    # --- heads ----------------------------------------------------------------------------------

    def head(self, partition: int) -> ChainHead:
        state = self._partitions.get(partition)
        if state is None:
            return ChainHead.genesis(partition)
        return ChainHead(state.sequence, state.hash)

    def has_head(self, partition: int) -> bool:
        return partition in self._partitions

    def set_head(self, partition: int, head: ChainHead | None) -> None:
        """Continue ``partition`` from ``head`` (None: from genesis)."""
        self._partitions[partition] = _PartitionState(head or ChainHead.genesis(partition))

    def start_empty(self, partition: int) -> None:
        """Start ``partition``, found empty, at genesis and owe it a checkpoint (written with the
        next :meth:`checkpoints`), so that an idle partition is not mistaken for a deleted one."""
        self._partitions[partition] = _PartitionState(ChainHead.genesis(partition), owed=True)

    def forget(self, partitions: Iterable[int] | None = None) -> None:
        """Drop heads (all when None): they must be set again before sealing there."""
        if partitions is None:
            self._partitions.clear()
        for partition in partitions or ():
            self._partitions.pop(partition, None)

    @property
    def partitions(self) -> list[int]:
        """Partitions with a head."""
        return sorted(self._partitions)

    @property
    def signed_by_development_key(self) -> bool:
        """Whether checkpoints are signed with the development key shipped in ``config/``."""
        return self._signer is not None and self._signer.is_development

    def unsigned(self) -> dict[int, int]:
        """Records sealed since each partition's last checkpoint (partitions with any)."""
        if self._signer is None:
            return {}
        return {p: s.pending for p, s in sorted(self._partitions.items()) if s.pending}

    # --- sealing --------------------------------------------------------------------------------

    def seal(self, partition: int, **fields: Any) -> bytes:
        """Encode an :class:`AuditRecord` of ``fields`` as the next link of ``partition``."""
        encode = self._codec.encode_fields

        def record(prev_hash: str, sequence: int) -> bytes:
            return encode(AuditRecord, {"prev_hash": prev_hash, "sequence": sequence, **fields})

        return self.seal_with(partition, fields.get("at"), record)

    def seal_with(
        self, partition: int, at: datetime | None, encode: Callable[[str, int], bytes]
    ) -> bytes:
        """Seal the audit record ``encode(prev_hash, sequence)`` gives, made at ``at``, as the
        next link of ``partition``: for callers that encode records their own way (from a
        template) and leave the link to the chain."""
        if not self.chained:
            return encode("", UNCHAINED_SEQUENCE)
        state = self._state(partition)
        return state.link(encode(state.hash, state.sequence), at)

    def seal_template(
        self, partition: int, at: datetime | None, template: MessageTemplate, holes: dict[str, Any]
    ) -> bytes:
        """:meth:`seal_with` for a record made from ``template``: the link goes into ``holes``
        (``prev_hash`` and ``sequence``) before they fill it."""
        if not self.chained:
            holes["prev_hash"], holes["sequence"] = "", UNCHAINED_SEQUENCE
            return template.fill(holes)
        state = self._partitions.get(partition) or self._state(partition)
        holes["prev_hash"], holes["sequence"] = state.hash, state.sequence
        return state.link(template.fill(holes), at)

    def checkpoint_due(self, partition: int) -> bool:
        """Whether ``partition`` has gathered ``checkpoint_every`` records since its last one."""
        state = self._partitions.get(partition)
        return self._signer is not None and state is not None and state.pending >= self._every

    def checkpoint(self, partition: int, now: datetime) -> bytes:
        """Seal a signed checkpoint of ``partition``'s current head as its next link."""
        if self._signer is None:
            raise ChainBrokenError("no signing key: this chain makes no checkpoints")
        state = self._state(partition)
        data = self._codec.encode(
            self._signer.sign(
                partition=partition,
                sequence=state.sequence,
                prev_hash=state.hash,
                at=now,
                gateway_instance=self._instance,
            )
        )
        state.sequence += 1
        state.hash = message_hash(data)
        state.pending, state.pending_since, state.owed = 0, None, False
        return data

    def checkpoints(
        self, now: datetime, *, partitions: Iterable[int] | None = None, force: bool = False
    ) -> list[tuple[int, bytes]]:
        """Checkpoints of the partitions that need one now, as ``(partition, message)``.

        A partition needs one when it has records not yet covered and either the oldest is
        ``interval`` old or ``force`` is set (shutdown, giving partitions up), and when it is owed
        one since it was found empty (:meth:`start_empty`).
        """
        if self._signer is None:
            return []
        wanted = self._partitions if partitions is None else partitions
        out = []
        for partition in sorted(wanted):
            state = self._partitions.get(partition)
            if state is None or (state.pending == 0 and not state.owed):
                continue
            since = state.pending_since
            if force or state.owed or (since is not None and now - since >= self._interval):
                out.append((partition, self.checkpoint(partition, now)))
        return out

    def reseal(self, partition: int, data: bytes, now: datetime) -> bytes:
        """Seal again, at ``partition``'s current head, a message sealed before (a retry after a
        write that may or may not have landed). Checkpoints are signed afresh at ``now``."""
        if is_checkpoint(self._codec, data):
            return self.checkpoint(partition, now)
        record = self._codec.decode(data, AuditRecord)
        fields = {k: v for k, v in record.__dict__.items() if k not in ("prev_hash", "sequence")}
        return self.seal(partition, **fields)

    def _state(self, partition: int) -> _PartitionState:
        state = self._partitions.get(partition)
        if state is None:
            state = self._partitions[partition] = _PartitionState(ChainHead.genesis(partition))
        return state


def is_checkpoint(codec: Codec, data: bytes) -> bool:
    """Whether ``data`` is an :class:`AuditCheckpoint` message."""
    return data.startswith(codec.registry.get(f"dx.gateway.{AuditCheckpoint.__name__}").header)
