"""The PostgreSQL audit store, through ``psycopg`` 3 (``pip install 'dx-gateway[postgres]'``).

Same schema as the SQLite store, with ``BIGINT`` times and offsets and ``JSONB`` reasons and
field lists. Several readers and one indexer may use a database at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import psycopg

from gateway.audit.store._sql import SqlAuditStore
from gateway.errors import AuditStoreError, AuditStoreUnavailable

__all__ = ["PostgresAuditStore", "redact_url"]


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
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            self._fail(exc)
        try:
            self._create_schema()
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        self._conn.close()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as exc:
            self._fail(exc)

    def _run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(sql, rows)
                return cursor.rowcount
        except psycopg.Error as exc:
            self._fail(exc)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            with self._conn.transaction():
                yield
        except psycopg.Error as exc:
            self._fail(exc)

    def _fail(self, exc: psycopg.Error) -> NoReturn:
        """Driver errors as gateway errors: a lost or refused connection may pass."""
        kind = AuditStoreUnavailable if isinstance(exc, psycopg.OperationalError) else None
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise (kind or AuditStoreError)(f"{self.url}: {first_line}") from exc
