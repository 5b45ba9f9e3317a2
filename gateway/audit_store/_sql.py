"""What the SQLite and PostgreSQL stores share: the schema and the statements.

One table row per decision (``audit_decision``), reasons and field-name lists as JSON arrays,
time as epoch milliseconds (UTC), so both databases run the same SQL and compare times as
integers. A backend supplies the connection, its placeholder and the few dialect pieces.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar, Self

from gateway.audit_store._rows import (
    COLUMNS,
    JSON_COLUMNS,
    from_millis,
    millis,
    record_of,
    row_of,
)
from gateway.audit_store.base import (
    APPROVALS,
    REFUSALS,
    DecisionQuery,
    DecisionRow,
    DecodedRecord,
    HourlyVolume,
    IndexedRecord,
    OutcomeCount,
    PartitionMark,
    ReasonCount,
    RecordedPolicyChange,
    Tally,
)
from gateway.envelope.models import AuditStage
from gateway.errors import AuditStoreError

__all__ = ["SqlAuditStore"]

SCHEMA_VERSION = "2"
"""2 added ``sent_at_ms``; a version 1 store gains the column (null for its rows) when opened."""
_ADD_SENT_AT = "ALTER TABLE audit_decision ADD COLUMN sent_at_ms {int}"
_HOUR_MS = 3_600_000

_FIRST_OF_POLICY_CHANGE = (
    "(stage <> {p} OR NOT EXISTS (SELECT 1 FROM audit_decision AS twin WHERE twin.stage = {p} "
    "AND twin.at_ms = audit_decision.at_ms AND twin.outcome = audit_decision.outcome "
    "AND twin.policy_version = audit_decision.policy_version "
    "AND twin.input_topic = audit_decision.input_topic "
    "AND twin.gateway_instance = audit_decision.gateway_instance "
    "AND twin.decision_id < audit_decision.decision_id))"
)
"""Keeps one record of each policy change: the gateway writes one per audit partition, alike
but for the partition and decision id (the time, outcome, version and source are the same)."""

_TABLES = (
    """CREATE TABLE IF NOT EXISTS audit_decision (
        decision_id TEXT PRIMARY KEY, request_id TEXT, stage TEXT NOT NULL,
        at_ms {int} NOT NULL, requester TEXT, provider TEXT, agreement_id TEXT, purpose TEXT,
        outcome TEXT NOT NULL, subject_key TEXT, reasons {json} NOT NULL,
        fields_requested {json} NOT NULL, fields_released {json} NOT NULL,
        fields_transformed {json} NOT NULL, fields_withheld {json} NOT NULL,
        policy_version TEXT NOT NULL, input_topic TEXT NOT NULL, input_partition {int} NOT NULL,
        input_offset {int} NOT NULL, gateway_instance TEXT NOT NULL,
        chain_sequence {int} NOT NULL, prev_hash TEXT NOT NULL, audit_topic TEXT NOT NULL,
        audit_partition {int} NOT NULL, audit_offset {int} NOT NULL, message_hash TEXT NOT NULL,
        sent_at_ms {int})""",
    """CREATE TABLE IF NOT EXISTS audit_partition_mark (
        audit_topic TEXT NOT NULL, audit_partition {int} NOT NULL, next_offset {int} NOT NULL,
        next_sequence {int}, next_prev_hash TEXT, PRIMARY KEY (audit_topic, audit_partition))""",
    "CREATE TABLE IF NOT EXISTS audit_store_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_INDEXES = {
    "at": "(at_ms)",
    "requester": "(requester, at_ms)",
    "provider": "(provider, at_ms)",
    "agreement": "(agreement_id, purpose, at_ms)",
    "purpose": "(purpose, at_ms)",
    "outcome": "(outcome, at_ms)",
    "subject": "(subject_key) WHERE subject_key IS NOT NULL",
    # Finds the other decisions of a subject's exchanges: only those without the subject's key
    # need it (a "not found" answer, a blocked response), which keeps it small and cheap.
    "unkeyed_request": "(request_id, requester) WHERE subject_key IS NULL",
}


class SqlAuditStore(ABC):
    """An :class:`~gateway.audit_store.base.AuditStore` over a SQL database (see the backends)."""

    placeholder: ClassVar[str]
    types: ClassVar[Mapping[str, str]]
    """Column types for ``{int}`` (64-bit integers) and ``{json}`` in the schema."""
    json_value: ClassVar[str]
    """How a JSON parameter is written in an INSERT."""
    reason_join: ClassVar[str]
    """Joins each decision ``d`` to its reasons as rows ``r``."""
    reason_field: ClassVar[str]
    """Reads one key (``{key}``) of a reason row."""
    url: str

    # --- what a backend provides ----------------------------------------------------------------

    @abstractmethod
    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Execute one statement; its rows (empty for statements that return none)."""

    @abstractmethod
    def _run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Execute one statement per row; the number of rows it changed."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[None]:
        """Commit what runs inside when it ends normally, roll it back otherwise."""

    @abstractmethod
    def close(self) -> None: ...

    # --- set-up ---------------------------------------------------------------------------------

    def _create_schema(self) -> None:
        with self._transaction():
            for table in _TABLES:
                self._run(table.format(**self.types))
            for name, spec in _INDEXES.items():
                self._run(
                    f"CREATE INDEX IF NOT EXISTS audit_decision_{name} ON audit_decision {spec}"
                )
            p = self.placeholder
            self._run(
                f"INSERT INTO audit_store_meta (name, value) VALUES ({p}, {p}) "
                "ON CONFLICT (name) DO NOTHING",
                ("schema_version", SCHEMA_VERSION),
            )
            rows = self._run(
                f"SELECT value FROM audit_store_meta WHERE name = {p}", ("schema_version",)
            )
            if rows and rows[0][0] == "1":  # before requests' sent_at was audited
                self._run(_ADD_SENT_AT.format(**self.types))
                self._run(
                    f"UPDATE audit_store_meta SET value = {p} WHERE name = {p}",
                    (SCHEMA_VERSION, "schema_version"),
                )
                rows = [(SCHEMA_VERSION,)]
        found = rows[0][0] if rows else None
        if found != SCHEMA_VERSION:
            raise AuditStoreError(
                f"{self.url} holds audit store schema version {found}; this gateway reads "
                f"version {SCHEMA_VERSION}"
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- loading --------------------------------------------------------------------------------

    def load(self, records: Sequence[DecodedRecord], marks: Sequence[PartitionMark] = ()) -> int:
        return self.load_rows([row_of(item) for item in records], marks)

    def load_rows(self, rows: Iterable[DecisionRow], marks: Sequence[PartitionMark] = ()) -> int:
        p = self.placeholder
        values = ", ".join(self.json_value if c in JSON_COLUMNS else p for c in COLUMNS)
        insert = (
            f"INSERT INTO audit_decision ({', '.join(COLUMNS)}) VALUES ({values}) "
            "ON CONFLICT (decision_id) DO NOTHING"
        )
        upsert = (
            "INSERT INTO audit_partition_mark (audit_topic, audit_partition, next_offset, "
            f"next_sequence, next_prev_hash) VALUES ({p}, {p}, {p}, {p}, {p}) "
            "ON CONFLICT (audit_topic, audit_partition) DO UPDATE SET "
            "next_offset = excluded.next_offset, next_sequence = excluded.next_sequence, "
            "next_prev_hash = excluded.next_prev_hash"
        )
        with self._transaction():
            added = self._run_many(insert, rows)
            if marks:
                self._run_many(
                    upsert,
                    [
                        (m.topic, m.partition, m.next_offset, m.next_sequence, m.next_prev_hash)
                        for m in marks
                    ],
                )
        return added

    def marks(self, topic: str) -> dict[int, PartitionMark]:
        rows = self._run(
            "SELECT audit_partition, next_offset, next_sequence, next_prev_hash "
            f"FROM audit_partition_mark WHERE audit_topic = {self.placeholder}",
            (topic,),
        )
        return {row[0]: PartitionMark(topic, *row) for row in rows}

    # --- reading --------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._run("SELECT COUNT(*) FROM audit_decision")[0][0])

    def decisions(self, query: DecisionQuery) -> list[IndexedRecord]:
        where, params = self._where(query)
        order = "DESC" if query.newest_first else "ASC"
        sql = (
            f"SELECT {', '.join(COLUMNS)} FROM audit_decision{where} "
            f"ORDER BY at_ms {order}, decision_id {order}"
        )
        if query.limit is not None:
            sql += f" LIMIT {self.placeholder}"
            params.append(query.limit)
        if query.offset:
            if query.limit is None:
                sql += " LIMIT -1" if self.placeholder == "?" else " LIMIT ALL"
            sql += f" OFFSET {self.placeholder}"
            params.append(query.offset)
        return [record_of(row) for row in self._run(sql, params)]

    def tally(self, since: datetime, until: datetime) -> Tally:
        p = self.placeholder
        span = (millis(since), millis(until))
        policy = AuditStage.POLICY.value
        outcomes = self._run(
            "SELECT agreement_id, purpose, outcome, COUNT(*) FROM audit_decision "
            f"WHERE at_ms >= {p} AND at_ms < {p} AND stage <> {p} "
            "GROUP BY agreement_id, purpose, outcome",
            (*span, policy),
        )
        changes = self._run(  # one record per audit partition: one row per change
            "SELECT MIN(at_ms), outcome, policy_version FROM audit_decision "
            f"WHERE at_ms >= {p} AND at_ms < {p} AND stage = {p} "
            "GROUP BY outcome, policy_version ORDER BY MIN(at_ms)",
            (*span, policy),
        )
        code, message = (self.reason_field.format(key=k) for k in ("code", "message"))
        reasons = self._run(
            f"SELECT d.agreement_id, d.purpose, d.outcome, {code}, MIN({message}), COUNT(*) "
            f"FROM audit_decision AS d {self.reason_join} "
            f"WHERE d.at_ms >= {p} AND d.at_ms < {p} AND d.outcome IN ({p}, {p}, {p}) "
            f"GROUP BY d.agreement_id, d.purpose, d.outcome, {code}",
            (*span, *(o.value for o in REFUSALS)),
        )
        hours = self._run(
            f"SELECT agreement_id, purpose, at_ms / {_HOUR_MS}, COUNT(*) FROM audit_decision "
            f"WHERE at_ms >= {p} AND at_ms < {p} AND stage = {p} AND outcome IN ({p}, {p}) "
            "AND agreement_id IS NOT NULL AND purpose IS NOT NULL "
            f"GROUP BY agreement_id, purpose, at_ms / {_HOUR_MS}",
            (*span, AuditStage.REQUEST.value, *(o.value for o in APPROVALS)),
        )
        return Tally(
            outcomes=tuple(OutcomeCount(a, p_, o, int(n)) for a, p_, o, n in outcomes),
            reasons=tuple(ReasonCount(a, p_, o, c, m, int(n)) for a, p_, o, c, m, n in reasons),
            approved_per_hour=tuple(
                HourlyVolume(a, p_, from_millis(int(h) * _HOUR_MS), int(n)) for a, p_, h, n in hours
            ),
            policy_changes=tuple(
                RecordedPolicyChange(from_millis(int(t)), o, v) for t, o, v in changes
            ),
        )

    def _where(self, query: DecisionQuery) -> tuple[str, list[Any]]:
        p = self.placeholder
        clauses: list[str] = []
        params: list[Any] = []
        if query.dept is not None:
            clauses.append(f"(requester = {p} OR provider = {p})")
            params += [query.dept, query.dept]
        for column, value in (
            ("agreement_id", query.agreement_id),
            ("purpose", query.purpose),
            ("outcome", query.outcome.value if query.outcome is not None else None),
        ):
            if value is not None:
                clauses.append(f"{column} = {p}")
                params.append(value)
        if query.since is not None:
            clauses.append(f"at_ms >= {p}")
            params.append(millis(query.since))
        if query.until is not None:
            clauses.append(f"at_ms < {p}")
            params.append(millis(query.until))
        if query.subject_key is not None:
            clauses.append(
                f"decision_id IN (SELECT decision_id FROM audit_decision WHERE subject_key = {p} "
                "UNION SELECT e.decision_id FROM audit_decision AS s JOIN audit_decision AS e "
                "ON e.request_id = s.request_id AND e.requester = s.requester "
                f"AND e.subject_key IS NULL WHERE s.subject_key = {p})"
            )
            params += [query.subject_key, query.subject_key]
        if query.policy_changes_once:
            clauses.append(_FIRST_OF_POLICY_CHANGE.format(p=p))
            params += [AuditStage.POLICY.value, AuditStage.POLICY.value]
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params
