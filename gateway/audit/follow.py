"""Follow audit hash chains as messages stream past, for a long-running reader such as the indexer.

:mod:`gateway.audit.verify` judges a whole export at once; a follower checks one message at a
time and keeps going after a break, so a reader that never stops still reports each break once.
Per partition, each message must carry the next sequence number and, as ``prev_hash``, the hash
of the message before it (see :mod:`gateway.audit.chain` for the layout). With a public key,
checkpoints' signatures are checked too.

A follower that starts in the middle of a chain (its reader resumes, or retention removed the
start) takes the first message it sees as given, unless told where the chain stood
(:meth:`ChainFollower.resume`).
"""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.chain import UNCHAINED_SEQUENCE, ChainHead, genesis_hash, read_link
from gateway.audit.checkpoint import checkpoint_problem
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditCheckpoint
from gateway.errors import ChainBrokenError, DecodeError

__all__ = ["ChainFollower"]


class ChainFollower:
    """Checks that every audit partition's chain is unbroken, one message at a time."""

    __slots__ = ("_checkpoint_header", "_codec", "_heads", "_key", "unchained")

    def __init__(
        self, *, public_key: Ed25519PublicKey | None = None, codec: Codec | None = None
    ) -> None:
        self._codec = codec or Codec.default()
        self._key = public_key
        self._checkpoint_header = self._codec.registry.get(
            f"dx.gateway.{AuditCheckpoint.__name__}"
        ).header
        self._heads: dict[int, tuple[int, str]] = {}
        """Partition -> (next sequence, next prev_hash); tuples, as one is made per message."""
        self.unchained = 0
        """Records written with the chain switched off (nothing to check)."""

    @property
    def heads(self) -> Mapping[int, ChainHead]:
        """What each partition's next message must carry."""
        return {p: ChainHead(*head) for p, head in self._heads.items()}

    def resume(self, heads: Mapping[int, ChainHead]) -> None:
        """Continue from these heads (replacing any held), e.g. as saved by an earlier run."""
        self._heads = {p: (head.sequence, head.hash) for p, head in heads.items()}

    def follow(self, partition: int, data: bytes, digest: str) -> str | None:
        """Check one message (``digest``: the hex SHA-256 of ``data``); None when it links.

        After a break the chain is followed on from this message, so each break is told once.
        """
        try:
            prev_hash, sequence = read_link(data)
        except ChainBrokenError as exc:
            return str(exc)  # not a link: the chain continues from the message before it
        if sequence == UNCHAINED_SEQUENCE:
            self.unchained += 1
            return None
        head = self._heads.get(partition)
        problem = (
            None
            if head == (sequence, prev_hash)
            else _link_problem(partition, head, prev_hash, sequence)
        )
        if problem is None and self._key is not None and data.startswith(self._checkpoint_header):
            problem = self._checkpoint_problem(self._key, partition, data)
        self._heads[partition] = (sequence + 1, digest)
        return problem

    def _checkpoint_problem(self, key: Ed25519PublicKey, partition: int, data: bytes) -> str | None:
        try:
            checkpoint = self._codec.decode(data, AuditCheckpoint)
        except DecodeError as exc:
            return f"checkpoint cannot be decoded: {exc}"
        if checkpoint.partition != partition:
            return f"checkpoint of partition {checkpoint.partition} found in partition {partition}"
        return checkpoint_problem(checkpoint, key)


def _link_problem(
    partition: int, head: tuple[int, str] | None, prev_hash: str, sequence: int
) -> str | None:
    """What is wrong with a message that does not carry ``head``."""
    if head is None:  # the first message seen: only a chain's very start can be checked
        if sequence == 0 and prev_hash != genesis_hash(partition):
            return f"sequence 0 does not link to partition {partition}'s genesis value"
        return None
    expected = head[0]
    if sequence > expected:
        return (
            f"sequence jumps from {expected - 1} to {sequence}: {sequence - expected} "
            "message(s) missing"
        )
    if sequence < expected:
        return f"sequence {sequence} follows {expected - 1}: a message was repeated or inserted"
    if prev_hash != head[1]:
        return f"sequence {sequence} does not link to the message before it: one was altered"
    return None
