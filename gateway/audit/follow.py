"""Follow audit hash chains as messages stream past, for a long-running reader such as the indexer.

:mod:`gateway.audit.verify` judges a whole export at once; a follower checks one message at a
time and keeps going after a break, so a reader that never stops still reports each break once.
Both check through the one verifier, :class:`gateway.audit._check.PartitionCheck`, and describe a
break in the same words. With a public key, checkpoints' signatures are checked too.

A follower that starts in the middle of a chain (its reader resumes, or retention removed the
start) takes the first message it sees as given, unless told where the chain stood
(:meth:`ChainFollower.resume`).
"""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit._check import CheckContext, CheckOptions, PartitionCheck
from gateway.audit.chain import ChainHead
from gateway.envelope.codec import Codec

__all__ = ["ChainFollower"]


class ChainFollower:
    """Checks that every audit partition's chain is unbroken, one message at a time."""

    __slots__ = ("_checks", "_context")

    def __init__(
        self, *, public_key: Ed25519PublicKey | None = None, codec: Codec | None = None
    ) -> None:
        self._context = CheckContext(
            codec or Codec.default(), public_key, CheckOptions(follow=True)
        )
        self._checks: dict[int, PartitionCheck] = {}

    @property
    def unchained(self) -> int:
        """Records written with the chain switched off (nothing to check)."""
        return sum(check.unchained for check in self._checks.values())

    @property
    def heads(self) -> Mapping[int, ChainHead]:
        """What each partition's next message must carry."""
        return {p: head for p, check in self._checks.items() if (head := check.head) is not None}

    def resume(self, heads: Mapping[int, ChainHead]) -> None:
        """Continue from these heads (replacing any held), e.g. as saved by an earlier run."""
        self._checks = {}
        for partition, head in heads.items():
            self._check(partition).resume(head)

    def follow(
        self, partition: int, data: bytes, digest: str, offset: int | None = None
    ) -> str | None:
        """Check one message (``digest``: the hex SHA-256 of ``data``; ``offset``: where it was
        read, if known); None when it links, else what is wrong.

        After a break the chain is followed on from this message, so each break is told once.
        A problem found in the message before this one (it was modified) names that message.
        """
        finding = self._check(partition).feed(offset, data, digest)
        if finding is None:
            return None
        if finding.offset == offset or finding.sequence is None:
            return finding.problem
        where = f"sequence {finding.sequence}"
        if finding.offset is not None:
            where += f" (offset {finding.offset})"
        return f"{where}: {finding.problem}"

    def _check(self, partition: int) -> PartitionCheck:
        check = self._checks.get(partition)
        if check is None:
            check = self._checks[partition] = PartitionCheck(partition, self._context, None)
        return check
