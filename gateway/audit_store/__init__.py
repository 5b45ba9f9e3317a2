"""The audit read model: a queryable index of the audit topic, in SQLite or PostgreSQL.

Read side only: the indexer (:mod:`~gateway.audit_store.indexing`, with its decoder process)
fills the store, following the hash chain with :mod:`gateway.audit.follow`; the reports
(:mod:`~gateway.audit_store.reports`, :mod:`~gateway.audit_store.periods`) and their renderings
(:mod:`~gateway.audit_store.render`) read it. Writing, chaining, signing and verifying audit
records is :mod:`gateway.audit`.

``open_store(url)`` opens (and creates, if need be) a store:

- ``sqlite:///audit.db`` (a relative path), ``sqlite:////var/lib/dx/audit.db`` (absolute),
  ``sqlite://`` (in memory), or a plain file path;
- ``postgresql://user:password@host/db`` (needs ``pip install 'dx-gateway[postgres]'``).
"""

from __future__ import annotations

from pathlib import Path

from gateway.audit_store._row_reader import RecordSchema, RowReader, compile_row_reader
from gateway.audit_store.base import (
    APPROVALS,
    REFUSALS,
    AuditCoordinates,
    AuditStore,
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
from gateway.audit_store.sqlite import MEMORY, SqliteAuditStore
from gateway.errors import ConfigError

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
    "RecordSchema",
    "RecordedPolicyChange",
    "RowReader",
    "SqliteAuditStore",
    "Tally",
    "compile_row_reader",
    "open_store",
]

_SQLITE = "sqlite://"
_POSTGRES = ("postgresql://", "postgres://")


def open_store(url: str) -> AuditStore:
    """The store at ``url`` (see the module documentation), its schema created if missing."""
    if url.startswith(_POSTGRES):
        try:
            from gateway.audit_store.postgres import PostgresAuditStore
        except ImportError:
            raise ConfigError(
                "a PostgreSQL audit store needs psycopg: pip install 'dx-gateway[postgres]'"
            ) from None
        return PostgresAuditStore(url)
    if url.startswith(_SQLITE):
        path = url[len(_SQLITE) :]
        path = path[1:] if path.startswith("/") else path
        return _sqlite_file(path or MEMORY)
    if "://" in url:
        raise ConfigError(
            f"unsupported audit store URL scheme {url.partition('://')[0]!r}: use sqlite:///FILE "
            "or postgresql://..."
        )
    return _sqlite_file(url)


def _sqlite_file(path: str) -> AuditStore:
    if path != MEMORY and not Path(path).parent.is_dir():
        raise ConfigError(f"audit store {path}: directory {Path(path).parent} does not exist")
    return SqliteAuditStore(path)
