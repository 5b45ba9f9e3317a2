"""The SQLite audit store: one file (or memory), stdlib ``sqlite3``, write-ahead logging.

WAL lets reports and queries read while the indexer writes; ``synchronous=NORMAL`` keeps every
committed batch across a process crash (a power cut may lose the last ones, which the indexer
reads again from Kafka, since the store remembers where it stood only in the same commit).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from gateway.audit_store._sql import SqlAuditStore
from gateway.errors import AuditStoreError, AuditStoreUnavailable

__all__ = ["SqliteAuditStore"]

MEMORY = ":memory:"
_CACHE_KIB = 65536
"""Page cache per connection: the indexes of a few million decisions stay in memory."""
_PAGE_SIZE = 8192
"""Bytes per page of a new database (an existing one keeps its own). Each batch inserts random
keys all over the decision-id and subject indexes, whose leaf pages are written out again at
every commit; with pages twice SQLite's default size the indexing benchmark runs about a fifth
faster."""
_CHECKPOINT_BYTES = 64 * 1024 * 1024
"""Copy the write-ahead log into the database every 64 MiB rather than every 1000 pages: index
pages written by many batches are copied once, which cuts indexing CPU by a sixth."""


class SqliteAuditStore(SqlAuditStore):
    """Audit store in a SQLite database file; ``":memory:"`` keeps it in memory (tests, dev)."""

    placeholder = "?"
    types = {"int": "INTEGER", "json": "TEXT"}
    json_value = "?"
    reason_join = "CROSS JOIN json_each(d.reasons) AS r"
    reason_field = "json_extract(r.value, '$.{key}')"

    def __init__(self, path: str | Path = MEMORY) -> None:
        self.url = f"sqlite:///{path}"
        try:
            # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT). One thread
            # at a time uses the connection, though not always the one that opened it.
            self._conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        except sqlite3.Error as exc:
            self._fail(exc)
        try:
            self._run(f"PRAGMA page_size={_PAGE_SIZE}")  # before WAL, which fixes it
            self._run("PRAGMA journal_mode=WAL")
            self._run("PRAGMA synchronous=NORMAL")
            self._run(f"PRAGMA cache_size=-{_CACHE_KIB}")
            page_size = self._run("PRAGMA page_size")[0][0]
            self._run(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_BYTES // page_size}")
            self._create_schema()
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        self._conn.close()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            self._fail(exc)

    def _run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        try:
            return self._conn.executemany(sql, rows).rowcount
        except sqlite3.Error as exc:
            self._fail(exc)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._run("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        self._run("COMMIT")

    def _fail(self, exc: sqlite3.Error) -> NoReturn:
        """Driver errors as gateway errors: busy, locked or unreachable files may pass."""
        kind = AuditStoreUnavailable if isinstance(exc, sqlite3.OperationalError) else None
        raise (kind or AuditStoreError)(f"{self.url}: {exc}") from exc
