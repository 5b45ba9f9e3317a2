"""What a verification found: per-partition summaries and the first bad message of each."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.audit.files import ExportedMessage

__all__ = ["ChainFinding", "PartitionSummary", "VerifyReport"]


@dataclass(frozen=True, slots=True)
class ChainFinding:
    """The first thing wrong in one partition's chain."""

    partition: int
    sequence: int | None
    offset: int | None
    problem: str

    def __str__(self) -> str:
        where = f"partition {self.partition}"
        if self.sequence is not None:
            where += f", sequence {self.sequence}"
        if self.offset is not None:
            where += f" (offset {self.offset})"
        return f"{where}: {self.problem}"


@dataclass(frozen=True, slots=True)
class PartitionSummary:
    partition: int
    messages: int
    checkpoints: int
    first_sequence: int | None
    last_sequence: int | None
    signed_through: int | None
    """Sequence of the last valid checkpoint: everything before it is covered by a signature."""
    latest_checkpoint: ExportedMessage | None
    notes: tuple[str, ...] = ()

    @property
    def unsigned(self) -> int:
        """Messages after the last checkpoint, which only a later checkpoint will cover."""
        if self.last_sequence is None:
            return 0
        if self.signed_through is None:
            return self.messages
        return self.last_sequence - self.signed_through


@dataclass(frozen=True, slots=True)
class VerifyReport:
    key_id: str
    partitions: tuple[PartitionSummary, ...]
    problems: tuple[ChainFinding, ...]
    """At most one per partition: the first bad message (later ones cannot be judged)."""
    topic: str | None = None
    """The audit topic, when known (an export names it)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def messages(self) -> int:
        return sum(p.messages for p in self.partitions)

    @property
    def checkpoints(self) -> int:
        return sum(p.checkpoints for p in self.partitions)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Partitions whose tail no checkpoint signs yet: intact, but a cut there would not show
        (unless a later saved checkpoint or ``max_unsigned`` catches it)."""
        broken = {finding.partition for finding in self.problems}
        out = []
        for p in self.partitions:
            if p.unsigned == 0 or p.partition in broken:
                continue
            if p.signed_through is None:
                unsigned = f"none of its {p.unsigned} record(s) is covered by a signed checkpoint"
            else:
                unsigned = (
                    f"{p.unsigned} record(s) after the last signed checkpoint (sequence "
                    f"{p.signed_through}) are not covered by a signature yet"
                )
            out.append(
                f"partition {p.partition}: {unsigned}: cutting them off would not show without "
                "a later checkpoint"
            )
        return tuple(out)

    def describe(self) -> list[str]:
        """Human-readable lines: one per partition, findings, warnings, then the verdict."""
        lines = []
        for p in self.partitions:
            span = (
                "empty"
                if p.last_sequence is None
                else f"sequences {p.first_sequence}-{p.last_sequence}"
            )
            lines.append(
                f"partition {p.partition}: {p.messages} message(s), {span}, "
                f"{p.checkpoints} checkpoint(s), {p.unsigned} after the last checkpoint"
            )
            lines += [f"  note: {note}" for note in p.notes]
        lines += [f"BROKEN {finding}" for finding in self.problems]
        lines += [f"WARNING {warning}" for warning in self.warnings]
        verdict = "INTACT" if self.ok else "BROKEN"
        lines.append(
            f"{verdict}: {self.messages} message(s), {self.checkpoints} checkpoint(s) "
            f"verified with key {self.key_id}"
        )
        return lines
