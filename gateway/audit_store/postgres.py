"""The PostgreSQL audit store, through ``psycopg`` 3 (``pip install 'dx-gateway[postgres]'``).

Same schema as the SQLite store, with ``BIGINT`` times and offsets and ``JSONB`` reasons and
field lists. Several readers and one indexer may use a database at once.

PostgreSQL cannot hold U+0000 in text or JSON, and a department chooses its request ids and
purposes: the store keeps U+0000 as U+FFFD (in what it loads and in what it is asked for), and
the audit topic keeps the exact bytes. A lost connection is :class:`AuditStoreUnavailable`,
and the next call opens a new one, so that the indexer's retries reach a restarted server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import psycopg

from gateway.audit_store._rows import COLUMNS, JSON_COLUMNS
from gateway.audit_store._sql import SqlAuditStore
from gateway.audit_store.base import DecisionRow, PartitionMark
from gateway.errors import AuditStoreError, AuditStoreUnavailable

__all__ = ["PostgresAuditStore"]

_NUL, _REPLACEMENT = "\x00", "\ufffd"
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
"""The escape ``\\u0000`` in JSON text (after an even run of backslashes, so not a literal
backslash followed by ``u0000``)."""
_JSON_POSITIONS = frozenset(i for i, column in enumerate(COLUMNS) if column in JSON_COLUMNS)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


class PostgresAuditStore(SqlAuditStore):
    """Audit store in a PostgreSQL database given by a ``postgresql://`` URL."""

    placeholder = "%s"
    types = {"int": "BIGINT", "json": "JSONB"}
    json_value = "CAST(%s AS jsonb)"
    reason_join = "CROSS JOIN LATERAL jsonb_array_elements(d.reasons) AS r(value)"
    reason_field = "(r.value ->> '{key}')"

    def __init__(self, url: str) -> None:
        self.url = redact_url(url)
        self._dsn = url
        self._conn = self._connect()
        try:
            self._create_schema()
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        self._conn.close()

    def load_rows(self, rows: Iterable[DecisionRow], marks: Sequence[PartitionMark] = ()) -> int:
        return super().load_rows(map(_storable_row, rows), marks)

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        try:
            return psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            self._fail(exc)

    def _connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        """The connection; a new one if the last was lost (and reported as unavailable)."""
        if self._conn.broken:
            self._conn.close()
            self._conn = self._connect()
        return self._conn

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._connection().cursor() as cursor:
                cursor.execute(sql, [_storable(v) for v in params])
                return cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as exc:
            self._fail(exc)

    def _run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        try:
            with self._connection().cursor() as cursor:
                cursor.executemany(sql, rows)
                return cursor.rowcount
        except psycopg.Error as exc:
            self._fail(exc)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            with self._connection().transaction():
                yield
        except psycopg.Error as exc:
            self._fail(exc)

    def _fail(self, exc: psycopg.Error) -> NoReturn:
        """Driver errors as gateway errors: a lost or refused connection may pass."""
        kind = AuditStoreUnavailable if isinstance(exc, psycopg.OperationalError) else None
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise (kind or AuditStoreError)(f"{self.url}: {first_line}") from exc


def _storable(value: Any) -> Any:
    """A text value PostgreSQL can hold: U+0000 as U+FFFD."""
    if isinstance(value, str) and _NUL in value:
        return value.replace(_NUL, _REPLACEMENT)
    return value


def _storable_row(row: DecisionRow) -> DecisionRow:
    """A decision row PostgreSQL can hold: U+0000 as U+FFFD in text, and its escape as that of
    U+FFFD in the JSON columns."""
    if not any(isinstance(v, str) and (_NUL in v or "\\u0000" in v) for v in row):
        return row
    return tuple(
        _JSON_NUL.sub(r"\1\\ufffd", v) if i in _JSON_POSITIONS else _storable(v)
        for i, v in enumerate(row)
    )
