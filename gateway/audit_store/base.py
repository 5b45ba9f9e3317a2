"""The audit store's seam: what the indexer loads and what queries and reports read.

A store is a queryable index of the audit topic, never the record of truth: the topic (with its
hash chain) is. Rows are keyed by ``decision_id``, so loading a redelivered record again changes
nothing. Each row keeps where its message was read (:class:`AuditCoordinates`) apart from the
record itself, and the store remembers per audit partition where indexing stands
(:class:`PartitionMark`), in the same transaction as the rows, so a new or restored database
is filled from where *it* stands rather than from where a consumer group last committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from gateway.envelope.models import AuditOutcome, AuditRecord

__all__ = [
    "APPROVALS",
    "REFUSALS",
    "AuditCoordinates",
    "AuditStore",
    "DecisionQuery",
    "DecisionRow",
    "DecodedRecord",
    "HourlyVolume",
    "IndexedRecord",
    "OutcomeCount",
    "PartitionMark",
    "ReasonCount",
    "RecordedPolicyChange",
    "Tally",
]


class AuditCoordinates(NamedTuple):
    """Where an audit message was read, and the hash that links it into its partition's chain.

    A named tuple rather than a frozen dataclass, like :class:`DecodedRecord`: the indexer makes
    one per record, and a tuple is made several times faster.
    """

    topic: str
    partition: int
    offset: int
    message_hash: str
    """Hex SHA-256 of the message's complete bytes (what the next link names as ``prev_hash``)."""


@dataclass(frozen=True, slots=True)
class IndexedRecord:
    """An audit record with the coordinates of the message it was decoded from."""

    record: AuditRecord
    source: AuditCoordinates


class DecodedRecord(NamedTuple):
    """What a store loads: an audit record's fields as Avro decodes them, and where it was read.

    ``fields`` maps every :class:`AuditRecord` field name to its value, with the outcome and
    stage as their symbols and reasons as ``{"code", "message"}`` mappings. The indexer hands
    over the codec's output as it is: validating each record as a model would double the cost
    of indexing, and the Avro schema already fixes every type.
    """

    fields: Mapping[str, Any]
    source: AuditCoordinates

    @classmethod
    def of(cls, record: AuditRecord, source: AuditCoordinates) -> DecodedRecord:
        """The loadable form of a record model."""
        return cls(record.model_dump(), source)


DecisionRow = tuple[Any, ...]
"""One decision as the store keeps it: the values of its table's columns, in their order. The
indexer reads them straight from a message's bytes
(:func:`~gateway.audit_store.compile_row_reader`); :meth:`AuditStore.load` makes them of each
:class:`DecodedRecord`."""


@dataclass(frozen=True, slots=True)
class PartitionMark:
    """How far one audit partition is indexed, and where its hash chain stands there."""

    topic: str
    partition: int
    next_offset: int
    """The first offset not yet indexed."""
    next_sequence: int | None
    """The chain sequence the next message must carry; None when no chain is being followed."""
    next_prev_hash: str | None
    """The ``prev_hash`` the next message must carry; None when no chain is being followed."""


@dataclass(frozen=True, slots=True)
class DecisionQuery:
    """Which decisions to read. Every given criterion must hold; None means any."""

    dept: str | None = None
    """A department that asked (requester) or was asked (provider)."""
    agreement_id: str | None = None
    purpose: str | None = None
    outcome: AuditOutcome | None = None
    since: datetime | None = None
    """Inclusive lower bound of the decision time."""
    until: datetime | None = None
    """Exclusive upper bound of the decision time."""
    subject_key: str | None = None
    """Decisions about this subject: those carrying the key, and every other decision of the
    same exchanges (a provider's "not found" answer names no subject, but belongs to them)."""
    limit: int | None = None
    offset: int = 0
    """Decisions to skip first, in the query's order: with ``limit``, one page of many."""
    newest_first: bool = True
    policy_changes_once: bool = True
    """List a policy change once: the gateway records it in every audit partition's chain, and
    those records differ only in their partition and decision id. False lists each record."""


@dataclass(frozen=True, slots=True)
class OutcomeCount:
    agreement_id: str | None
    purpose: str | None
    outcome: str
    count: int


@dataclass(frozen=True, slots=True)
class ReasonCount:
    agreement_id: str | None
    purpose: str | None
    outcome: str
    code: str
    message: str
    """One of the messages given with this code (they differ only in names of things)."""
    count: int


@dataclass(frozen=True, slots=True)
class HourlyVolume:
    """Approved requests of one purpose in one UTC clock hour."""

    agreement_id: str
    purpose: str
    hour: datetime
    count: int


@dataclass(frozen=True, slots=True)
class RecordedPolicyChange:
    """A policy set applied or rejected, once however many audit partitions record it."""

    at: datetime
    outcome: str
    policy_version: str


@dataclass(frozen=True, slots=True)
class Tally:
    """What a transparency report counts over one period."""

    outcomes: tuple[OutcomeCount, ...]
    """Decisions about exchanges and inputs; policy changes are :attr:`policy_changes`."""
    reasons: tuple[ReasonCount, ...]
    """Reasons given for the outcomes in :data:`REFUSALS`."""
    approved_per_hour: tuple[HourlyVolume, ...]
    policy_changes: tuple[RecordedPolicyChange, ...] = ()
    """Oldest first."""


REFUSALS: tuple[AuditOutcome, ...] = (
    AuditOutcome.DENIED,
    AuditOutcome.BLOCKED,
    AuditOutcome.DEAD_LETTERED,
)
"""Outcomes whose reasons a transparency report lists: the requests and inputs refused."""

APPROVALS: tuple[AuditOutcome, ...] = (AuditOutcome.APPROVED, AuditOutcome.APPROVED_MINIMISED)
"""Request-stage outcomes that count against a purpose's volume caps."""


class AuditStore(Protocol):
    """A queryable index of audit records (see :func:`gateway.audit_store.open_store`)."""

    @property
    def url(self) -> str:
        """Where the store is, fit to print (no password)."""
        ...

    def load(self, records: Sequence[DecodedRecord], marks: Sequence[PartitionMark] = ()) -> int:
        """Add ``records`` and move ``marks`` in one transaction; return how many rows are new.

        A record whose ``decision_id`` is already stored is ignored, however often it comes.
        """
        ...

    def load_rows(self, rows: Iterable[DecisionRow], marks: Sequence[PartitionMark] = ()) -> int:
        """:meth:`load` for decisions already in row form (the indexer's way); ``rows`` may be an
        iterator, read inside the transaction."""
        ...

    def marks(self, topic: str) -> Mapping[int, PartitionMark]:
        """Where indexing of ``topic`` stands, by partition (empty for a new store)."""
        ...

    def decisions(self, query: DecisionQuery) -> list[IndexedRecord]:
        """The decisions ``query`` selects, by time (newest first unless told otherwise)."""
        ...

    def tally(self, since: datetime, until: datetime) -> Tally:
        """Counts for decisions made from ``since`` (inclusive) to ``until`` (exclusive)."""
        ...

    def count(self) -> int:
        """How many decisions are stored."""
        ...

    def close(self) -> None: ...
