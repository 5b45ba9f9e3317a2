"""One audit partition's chain, checked message by message as the messages stream past.

The one chain verifier: ``gateway audit verify`` (:mod:`gateway.audit.verify`, a whole log at
once, stopping at a partition's first break) and the readers that follow the live topic
(:mod:`gateway.audit.follow`: the indexer and ``gateway status``, which keep going after a break)
both check through :class:`PartitionCheck`, so a break is diagnosed in the same words by each.

The hot path reads only the chain link from the raw bytes (see :mod:`gateway.audit.chain`) and
hashes the message; checkpoints are decoded and their signatures checked. Diagnosis happens only
on the way to a finding, so its speed does not matter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.chain import (
    HASH_PREFIX,
    LINK_END,
    UNCHAINED_LINK,
    ChainHead,
    genesis_hash,
    read_sequence,
)
from gateway.audit.checkpoint import checkpoint_problem
from gateway.audit.files import ExportedMessage
from gateway.audit.findings import ChainFinding, PartitionSummary
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditCheckpoint, AuditRecord
from gateway.errors import ChainBrokenError, DecodeError

__all__ = ["CheckContext", "CheckOptions", "PartitionCheck"]


@dataclass(frozen=True, slots=True)
class CheckOptions:
    allow_missing_start: bool = False
    max_unsigned: int | None = None
    follow: bool = False
    """Keep checking after a break, from the message that broke the chain (so a reader that
    never stops tells each break once), take a chain's first message as given (a reader may
    start mid-chain), and count records written with the chain switched off instead of failing
    them."""


@dataclass(frozen=True, slots=True)
class CheckContext:
    codec: Codec
    key: Ed25519PublicKey | None
    """None: checkpoints' signatures are not checked."""
    options: CheckOptions
    partitions: int = 0
    """How many partitions the log declares: each of them must hold messages."""
    declared_by: str = "the topic"
    """What declares them, for findings ("the export": its header)."""

    @property
    def record_header(self) -> bytes:
        return self.codec.registry.get(f"dx.gateway.{AuditRecord.__name__}").header

    @property
    def checkpoint_header(self) -> bytes:
        return self.codec.registry.get(f"dx.gateway.{AuditCheckpoint.__name__}").header


class PartitionCheck:
    """One partition's chain, checked message by message as the messages stream past."""

    def __init__(
        self, partition: int, context: CheckContext, saved: ExportedMessage | None
    ) -> None:
        self.partition = partition
        self._context = context
        self._record_header = context.record_header
        self._checkpoint_header = context.checkpoint_header
        self._next_sequence = 0
        self._next_hash = genesis_hash(partition).encode()
        self._started = False
        """Whether the message before the next is known (one was read, or a head resumed)."""
        self._last_offset: int | None = None
        self._first_sequence: int | None = None
        self._messages = 0
        self._checkpoints = 0
        self._signed_through: int | None = None
        self._latest: ExportedMessage | None = None
        self._notes: list[str] = []
        self.problem: ChainFinding | None = None
        self.unchained = 0
        """Records written with the chain switched off, counted when following."""
        self._saved = saved
        self._saved_sequence = -1
        self._saved_matched = False
        if saved is not None:
            self._load_saved(saved)

    @property
    def head(self) -> ChainHead | None:
        """What the next message must carry; None before any message (or head) is known."""
        if not self._started:
            return None
        return ChainHead(self._next_sequence, self._next_hash.decode())

    def resume(self, head: ChainHead) -> None:
        """Continue from ``head``, as a reader saved it: the next message must carry it."""
        self._next_sequence, self._next_hash = head.sequence, head.hash.encode()
        self._started = True

    def feed(
        self, offset: int | None, data: bytes, digest: str | None = None
    ) -> ChainFinding | None:
        """Check the next message (``digest``: the hex SHA-256 of ``data``, if known); the
        problem it shows, or None. Without ``follow``, nothing is checked after a first problem.
        """
        self._messages += 1
        if self.problem is not None:
            if not self._context.options.follow:
                return None
            self.problem = None
        header = data[:10]
        is_record = header == self._record_header
        link = data[10:12]
        if (not is_record and header != self._checkpoint_header) or link != HASH_PREFIX:
            if is_record and link == UNCHAINED_LINK and self._context.options.follow:
                self.unchained += 1
                return None
            self._fail(None, offset, self._malformed(data, header))
            return self.problem  # not a link: the chain continues from the message before it
        try:
            sequence = read_sequence(data)
        except ChainBrokenError as exc:
            self._fail(None, offset, str(exc))
            return self.problem
        fresh = not self._started
        self._started = True
        if self._first_sequence is None:
            self._first_sequence = sequence
        if fresh and sequence > self._next_sequence and self._starts_anywhere:
            if not self._context.options.follow:
                self._notes.append(f"chain starts at sequence {sequence}: earlier ones are gone")
            self._next_sequence, self._next_hash = sequence, data[12:LINK_END]
        if sequence != self._next_sequence or data[12:LINK_END] != self._next_hash:
            self._broken(offset, sequence, data, fresh=fresh)
            if not self._context.options.follow:
                return self.problem
        elif not is_record:
            self._check_checkpoint(offset, sequence, data)
        if sequence == self._saved_sequence:
            self._compare_saved(offset, sequence, data)
        self._next_hash = (digest or hashlib.sha256(data).hexdigest()).encode()
        self._next_sequence = sequence + 1
        self._last_offset = offset
        return self.problem

    @property
    def _starts_anywhere(self) -> bool:
        options = self._context.options
        return options.allow_missing_start or options.follow

    def finish(self) -> tuple[PartitionSummary, ChainFinding | None]:
        if self.problem is None and self._saved is not None and not self._saved_matched:
            self._saved_missing()
        if (
            self.problem is None
            and self._messages == 0
            and self.partition < self._context.partitions
        ):
            self._fail(
                None,
                None,
                f"no messages, but {self._context.declared_by} declares "
                f"{self._context.partitions} partitions: this partition's records were deleted, "
                "or none was ever written to it",
            )
        summary = PartitionSummary(
            partition=self.partition,
            messages=self._messages,
            checkpoints=self._checkpoints,
            first_sequence=self._first_sequence,
            last_sequence=self._next_sequence - 1 if self._first_sequence is not None else None,
            signed_through=self._signed_through,
            latest_checkpoint=self._latest,
            notes=tuple(self._notes),
        )
        limit = self._context.options.max_unsigned
        if limit is not None and summary.unsigned > limit:
            self._fail(
                summary.last_sequence,
                self._last_offset,
                f"{summary.unsigned} message(s) after the last valid checkpoint, more than the "
                f"{limit} allowed: checkpoints were removed, or the log rewritten without the key",
            )
        return summary, self.problem

    # --- diagnosis (only on the way to a finding, so speed does not matter) -------------------

    def _fail(self, sequence: int | None, offset: int | None, problem: str) -> None:
        if self.problem is None:
            self.problem = ChainFinding(self.partition, sequence, offset, problem)

    def _malformed(self, data: bytes, header: bytes) -> str:
        if header not in (self._record_header, self._checkpoint_header):
            return "not an audit record or checkpoint (unknown or missing schema header)"
        if data[10:12] == UNCHAINED_LINK:
            return "record is not chained: it was written with the audit chain switched off"
        return "message does not start with a chain link (prev_hash, sequence)"

    def _broken(self, offset: int | None, sequence: int, data: bytes, *, fresh: bool) -> None:
        expected = self._next_sequence
        where = "" if offset is None else f", offset {offset}"
        if sequence == expected and fresh:
            self._fail(
                sequence,
                offset,
                f"prev_hash is not partition {self.partition}'s genesis value: the message was "
                "altered or belongs to another partition's chain",
            )
        elif sequence == expected:
            self._fail(
                expected - 1,
                self._last_offset,
                f"message was modified: its hash does not match the prev_hash of the next message "
                f"(sequence {sequence}{where}), or that message's link was altered",
            )
        elif fresh and sequence > expected:
            self._fail(
                sequence,
                offset,
                f"chain starts at sequence {sequence}, not {expected}: the first "
                f"{sequence - expected} message(s) are missing (deleted, or removed by retention: "
                "see allow_missing_start)",
            )
        elif sequence > expected:
            self._fail(
                sequence,
                offset,
                f"sequence jumps from {expected - 1} to {sequence}: {sequence - expected} "
                "message(s) missing (deleted) or out of order",
            )
        else:
            self._fail(
                sequence,
                offset,
                f"sequence {sequence} follows {expected - 1}: a message was inserted, repeated "
                "or moved out of order",
            )

    def _check_checkpoint(self, offset: int | None, sequence: int, data: bytes) -> None:
        if self._context.key is None:
            return
        problem = self._checkpoint_problem(data)
        if problem is not None:
            self._fail(sequence, offset, problem)
            return
        self._checkpoints += 1
        self._signed_through = sequence
        if offset is not None:
            self._latest = ExportedMessage(self.partition, offset, data)

    def _checkpoint_problem(self, data: bytes) -> str | None:
        try:
            checkpoint = self._context.codec.decode(data, AuditCheckpoint)
        except DecodeError as exc:
            return f"checkpoint cannot be decoded: {exc}"
        if checkpoint.partition != self.partition:
            return f"checkpoint is for partition {checkpoint.partition}: it was moved here"
        key = self._context.key
        return None if key is None else checkpoint_problem(checkpoint, key)

    def _load_saved(self, saved: ExportedMessage) -> None:
        if not saved.value.startswith(self._checkpoint_header):
            self._fail(None, saved.offset, "the saved checkpoint is not a checkpoint message")
            return
        problem = self._checkpoint_problem(saved.value)
        if problem is not None:
            self._fail(None, saved.offset, f"the saved checkpoint is not valid: {problem}")
            return
        self._saved_sequence = self._context.codec.decode(saved.value, AuditCheckpoint).sequence

    def _compare_saved(self, offset: int | None, sequence: int, data: bytes) -> None:
        self._saved_matched = True
        if self._saved is not None and data != self._saved.value:
            self._fail(
                sequence,
                offset,
                "differs from the checkpoint saved earlier for this sequence: the log was "
                "rewritten since",
            )

    def _saved_missing(self) -> None:
        saved = self._saved_sequence
        first = self._first_sequence
        if first is not None and first > saved:
            self._notes.append(
                f"saved checkpoint at sequence {saved} precedes the log's first message; "
                "not compared"
            )
            return
        end = "is empty" if first is None else f"ends at sequence {self._next_sequence - 1}"
        self._fail(
            None if first is None else self._next_sequence - 1,
            self._last_offset,
            f"the log {end}, but a checkpoint saved earlier certifies sequence {saved}: the log "
            "was truncated since",
        )
