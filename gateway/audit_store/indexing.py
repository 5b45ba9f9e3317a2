"""Index audit messages into an audit store: decode, follow the chain, load, count.

No Kafka here: the reader (``gateway.transport.audit_indexer``) hands over batches of messages with
their coordinates, and :meth:`AuditIndexer.index` loads each batch in one store transaction,
together with where the batch leaves each partition (so the store knows where to resume).
Messages that are not audit records are counted, never loaded: checkpoints by their schema
name, anything undecodable as such, with a log line giving its coordinates and the reason.

Records are read straight into store rows (:func:`~gateway.audit_store.compile_row_reader`),
here or, with ``decoder_process``, in a second process (:mod:`gateway.audit_store.decoder`) while
this one follows the chain and loads: that keeps two cores busy, and the indexing benchmark
runs a sixth to a fifth faster.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Self

from gateway.audit.chain import ChainHead
from gateway.audit.follow import ChainFollower
from gateway.audit_store import compile_row_reader
from gateway.audit_store.base import AuditStore, DecisionRow, PartitionMark
from gateway.audit_store.decoder import DecoderProcess, Record
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditRecord
from gateway.envelope.schemas import MARKER
from gateway.errors import EnvelopeError

__all__ = ["AuditIndexer", "AuditMessage", "IndexerStats"]

log = logging.getLogger("gateway.audit.indexer")

_HEADER_LEN = len(MARKER) + 8


class AuditMessage(NamedTuple):
    """One message read from the audit topic, with where it was read (a tuple: one is made per
    message)."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


@dataclass(slots=True)
class _Batch:
    """A batch ready to load: its rows (or rows to come), where it leaves each partition, and
    counts (of records and undecodable ones too, once its rows have all come)."""

    rows: Iterable[DecisionRow]
    marks: list[PartitionMark]
    messages: int
    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    undecodable: int = 0
    chain_breaks: int = 0


@dataclass(slots=True)
class IndexerStats:
    """What an indexer has done so far."""

    batches: int = 0
    messages: int = 0
    indexed: int = 0
    """Records stored for the first time."""
    repeated: int = 0
    """Records already in the store (read again): left as they were."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Other gateway messages on the topic (checkpoints), by schema name."""
    undecodable: int = 0
    chain_breaks: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "messages": self.messages,
            "indexed": self.indexed,
            "repeated": self.repeated,
            "skipped": dict(sorted(self.skipped.items())),
            "undecodable": self.undecodable,
            "chain_breaks": self.chain_breaks,
        }


class AuditIndexer:
    """Loads batches of audit messages into ``store``, following the hash chain if given one.

    With ``decoder_process``, records are read in a second process (started here, stopped by
    :meth:`close`).
    """

    def __init__(
        self,
        store: AuditStore,
        *,
        codec: Codec | None = None,
        chain: ChainFollower | None = None,
        decoder_process: bool = False,
    ) -> None:
        self.store = store
        self.stats = IndexerStats()
        self._codec = codec or Codec.default()
        self._chain = chain
        self._followed: dict[tuple[str, int], int] = {}
        """Per partition, the offset after the last message the chain follower has seen."""
        self._record_schema = self._codec.registry.get(f"dx.gateway.{AuditRecord.__name__}")
        self._read_row = compile_row_reader(self._record_schema)
        self._decoder = DecoderProcess(self._record_schema) if decoder_process else None

    @property
    def decoder_pid(self) -> int | None:
        """The decoder process's id; None when records are read here."""
        return self._decoder.pid if self._decoder is not None else None

    def close(self) -> None:
        """Stop the decoder process, if there is one."""
        if self._decoder is not None:
            self._decoder.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def resume(self, topic: str) -> dict[int, int]:
        """The offset to read each partition of ``topic`` from, as the store last recorded it.

        The chain follower, if any, continues from the heads saved with those offsets.
        """
        marks = self.store.marks(topic)
        self._followed.update({(topic, p): m.next_offset for p, m in marks.items()})
        if self._chain is not None:
            self._chain.resume(
                {
                    p: ChainHead(m.next_sequence, m.next_prev_hash)
                    for p, m in marks.items()
                    if m.next_sequence is not None and m.next_prev_hash is not None
                }
            )
        return {p: m.next_offset for p, m in marks.items()}

    def index(self, messages: Sequence[AuditMessage]) -> int:
        """Load one batch (in offset order per partition) in one store transaction; return how
        many rows are new. If the store fails, nothing of the batch counts: offer it again."""
        decoder = self._decoder
        if decoder is None:
            return self._load(self._prepare(messages, decode=True))
        header = self._record_schema.header
        records: list[Record] = [
            (topic, partition, offset, value)
            for topic, partition, offset, value in messages
            if value is not None and value.startswith(header)
        ]
        decoder.send(records)  # read there while the chain is followed here
        try:
            batch = self._prepare(messages, decode=False)
            batch.rows = self._received(decoder, records, batch)
            return self._load(batch)
        finally:
            decoder.drain()  # what a failed load left unread

    def _prepare(self, messages: Sequence[AuditMessage], *, decode: bool) -> _Batch:
        """Follow the chain through a batch and count what is not a record; with ``decode``,
        read the records into rows too. Messages the follower has seen already (a batch offered
        again after a failed load) are not followed twice."""
        rows: list[DecisionRow] = []
        ends: dict[tuple[str, int], int] = {}
        batch = _Batch(rows, [], len(messages))
        header, read_row, chain = self._record_schema.header, self._read_row, self._chain
        for message in messages:
            topic, partition, offset, value = message
            ends[topic, partition] = offset + 1
            if value is None:
                batch.undecodable += 1
                _log_unindexable(message, "it has no value")
                continue
            digest = hashlib.sha256(value).hexdigest() if decode or chain is not None else ""
            if chain is not None and offset >= self._followed.get((topic, partition), 0):
                problem = chain.follow(partition, value, digest, offset)
                if problem is not None:
                    batch.chain_breaks += 1
                    _log_chain_break(message, problem)
            if not value.startswith(header):
                other = self._schema_name(message, value)
                if other is None:
                    batch.undecodable += 1
                else:
                    batch.skipped[other] += 1
                continue
            if decode:
                try:
                    rows.append(read_row(value, topic, partition, offset, digest))
                except EnvelopeError as exc:
                    batch.undecodable += 1
                    _log_unindexable(message, str(exc))
        batch.records = len(rows)
        if chain is not None:
            self._followed.update(ends)
        batch.marks.extend(self._marks(ends))
        return batch

    @staticmethod
    def _received(
        decoder: DecoderProcess, records: Sequence[Record], batch: _Batch
    ) -> Iterator[DecisionRow]:
        """The rows of ``records`` as the decoder sends them, counting those it could not read."""
        for (topic, partition, offset, _), row in zip(records, decoder.results(), strict=True):
            if isinstance(row, str):
                batch.undecodable += 1
                _log_unindexable(AuditMessage(topic, partition, offset, None), row)
            else:
                batch.records += 1
                yield row

    def _load(self, batch: _Batch) -> int:
        added = self.store.load_rows(batch.rows, batch.marks)
        stats = self.stats
        stats.batches += 1
        stats.messages += batch.messages
        stats.indexed += added
        stats.repeated += batch.records - added
        stats.skipped.update(batch.skipped)
        stats.undecodable += batch.undecodable
        stats.chain_breaks += batch.chain_breaks
        return added

    def _marks(self, ends: Mapping[tuple[str, int], int]) -> list[PartitionMark]:
        heads = self._chain.heads if self._chain is not None else {}
        marks = []
        for (topic, partition), next_offset in ends.items():
            head = heads.get(partition)
            marks.append(
                PartitionMark(
                    topic,
                    partition,
                    next_offset,
                    head.sequence if head is not None else None,
                    head.hash if head is not None else None,
                )
            )
        return marks

    def _schema_name(self, message: AuditMessage, value: bytes) -> str | None:
        """The short schema name of a gateway message that is not a record; None (logged)
        for bytes of no known schema."""
        if len(value) < _HEADER_LEN or not value.startswith(MARKER):
            _log_unindexable(message, "not a single-object encoded message")
            return None
        try:
            schema = self._codec.registry.by_fingerprint(bytes(value[len(MARKER) : _HEADER_LEN]))
        except EnvelopeError as exc:
            _log_unindexable(message, str(exc))
            return None
        return schema.name.rpartition(".")[2]


def _log_chain_break(message: AuditMessage, problem: str) -> None:
    log.error(
        "AUDIT CHAIN BROKEN at %s[%d]@%d: %s",
        message.topic,
        message.partition,
        message.offset,
        problem,
    )


def _log_unindexable(message: AuditMessage, why: str) -> None:
    log.warning(
        "audit message at %s[%d]@%d not indexed: %s",
        message.topic,
        message.partition,
        message.offset,
        why,
    )
