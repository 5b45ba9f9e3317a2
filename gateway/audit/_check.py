"""One audit partition's chain, checked message by message as the messages stream past.

The hot path reads only the chain link from the raw bytes (see :mod:`gateway.audit.chain`) and
hashes the message; checkpoints are decoded and their signatures checked. Diagnosis happens only
on the way to a finding, so its speed does not matter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.chain import LINK_END, genesis_hash
from gateway.audit.checkpoint import checkpoint_problem
from gateway.audit.files import ExportedMessage
from gateway.audit.findings import Finding, PartitionSummary
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditCheckpoint, AuditRecord
from gateway.errors import DecodeError

__all__ = ["CheckContext", "CheckOptions", "PartitionCheck"]

_HASH_PREFIX = b"\x80\x01"


@dataclass(frozen=True, slots=True)
class CheckOptions:
    allow_missing_start: bool = False
    max_unsigned: int | None = None


@dataclass(frozen=True, slots=True)
class CheckContext:
    codec: Codec
    key: Ed25519PublicKey
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
        self._last_offset: int | None = None
        self._first_sequence: int | None = None
        self._messages = 0
        self._checkpoints = 0
        self._signed_through: int | None = None
        self._latest: ExportedMessage | None = None
        self._notes: list[str] = []
        self.problem: Finding | None = None
        self._saved = saved
        self._saved_sequence = -1
        self._saved_matched = False
        if saved is not None:
            self._load_saved(saved)

    def feed(self, offset: int, data: bytes) -> None:
        self._messages += 1
        if self.problem is not None:
            return
        header = data[:10]
        is_record = header == self._record_header
        if (not is_record and header != self._checkpoint_header) or data[10:12] != _HASH_PREFIX:
            self._fail(None, offset, self._malformed(data, header))
            return
        try:  # the sequence: an Avro zigzag varint
            value, shift, pos = 0, 0, LINK_END
            byte = data[pos]
            while byte >= 0x80:
                value |= (byte & 0x7F) << shift
                shift += 7
                pos += 1
                byte = data[pos]
            value |= byte << shift
        except IndexError:
            self._fail(None, offset, "message ends inside its sequence number")
            return
        sequence = (value >> 1) ^ -(value & 1)
        if self._first_sequence is None:
            self._first_sequence = sequence
            if self._context.options.allow_missing_start and sequence > 0:
                self._notes.append(f"chain starts at sequence {sequence}: earlier ones are gone")
                self._next_sequence, self._next_hash = sequence, data[12:LINK_END]
        if sequence != self._next_sequence or data[12:LINK_END] != self._next_hash:
            self._broken(offset, sequence, data)
            return
        if not is_record:
            self._check_checkpoint(offset, sequence, data)
        if sequence == self._saved_sequence:
            self._compare_saved(offset, sequence, data)
        self._next_hash = hashlib.sha256(data).hexdigest().encode()
        self._next_sequence = sequence + 1
        self._last_offset = offset

    def finish(self) -> tuple[PartitionSummary, Finding | None]:
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
            self.problem = Finding(self.partition, sequence, offset, problem)

    def _malformed(self, data: bytes, header: bytes) -> str:
        if header not in (self._record_header, self._checkpoint_header):
            return "not an audit record or checkpoint (unknown or missing schema header)"
        if data[10:12] == b"\x00\x01":
            return "record is not chained: it was written with the audit chain switched off"
        return "message does not start with a chain link (prev_hash, sequence)"

    def _broken(self, offset: int, sequence: int, data: bytes) -> None:
        expected = self._next_sequence
        if sequence == expected and self._last_offset is None:
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
                f"(sequence {sequence}, offset {offset}), or that message's link was altered",
            )
        elif self._last_offset is None and sequence > expected:
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

    def _check_checkpoint(self, offset: int, sequence: int, data: bytes) -> None:
        problem = self._checkpoint_problem(data)
        if problem is not None:
            self._fail(sequence, offset, problem)
            return
        self._checkpoints += 1
        self._signed_through = sequence
        self._latest = ExportedMessage(self.partition, offset, data)

    def _checkpoint_problem(self, data: bytes) -> str | None:
        try:
            checkpoint = self._context.codec.decode(data, AuditCheckpoint)
        except DecodeError as exc:
            return f"checkpoint cannot be decoded: {exc}"
        if checkpoint.partition != self.partition:
            return f"checkpoint is for partition {checkpoint.partition}: it was moved here"
        return checkpoint_problem(checkpoint, self._context.key)

    def _load_saved(self, saved: ExportedMessage) -> None:
        if not saved.value.startswith(self._checkpoint_header):
            self._fail(None, saved.offset, "the saved checkpoint is not a checkpoint message")
            return
        problem = self._checkpoint_problem(saved.value)
        if problem is not None:
            self._fail(None, saved.offset, f"the saved checkpoint is not valid: {problem}")
            return
        self._saved_sequence = self._context.codec.decode(saved.value, AuditCheckpoint).sequence

    def _compare_saved(self, offset: int, sequence: int, data: bytes) -> None:
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
