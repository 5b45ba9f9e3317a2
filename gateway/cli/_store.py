"""CLI plumbing for commands that read the audit store: which store, and whose subject key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from gateway.audit.subject import identifier_key, parse_identifier
from gateway.audit_store import AuditStore, open_store
from gateway.cli._options import audit_db_option
from gateway.errors import ConfigError
from gateway.settings import GatewaySettings

__all__ = ["IDENTIFIER_HELP", "db_option", "opened_store", "subject_key"]

IDENTIFIER_HELP = (
    "FIELD=VALUE, e.g. person_id=HO-000001, matched by its pseudonymous key (the identifier "
    "is neither stored nor printed); FIELD alone asks for the value without echoing it."
)

db_option = audit_db_option(
    "Audit store to read (filled by `gateway audit index`): sqlite:///FILE or postgresql://..."
)

_SQLITE = "sqlite://"


@contextmanager
def opened_store(
    db: str | None, settings: GatewaySettings, *, must_exist: bool = True
) -> Iterator[AuditStore]:
    """The store ``--audit-db`` names, else the configured one; closed afterwards.

    A command that only reads (``must_exist``) refuses an SQLite file that is not there rather
    than create an empty store and report that it holds nothing.
    """
    url = db or settings.audit_db.get_secret_value()
    if must_exist:
        missing = _missing_sqlite_file(url)
        if missing is not None:
            raise ConfigError(
                f"no audit store at {missing}: fill one with `gateway audit index "
                f"--audit-db {url}`, or name another with --audit-db"
            )
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()


def _missing_sqlite_file(url: str) -> Path | None:
    """The file of an SQLite store URL (or bare path) when it does not exist; else None."""
    if "://" in url and not url.startswith(_SQLITE):
        return None  # a server database: it says itself whether it can be reached
    path = url[len(_SQLITE) :] if url.startswith(_SQLITE) else url
    path = path[1:] if url.startswith(_SQLITE) and path.startswith("/") else path
    if not path or path == ":memory:":
        return None
    return None if Path(path).exists() else Path(path)


def subject_key(identifier: str, settings: GatewaySettings) -> tuple[str, str]:
    """``(field, key)`` for ``FIELD=VALUE`` (or ``FIELD``, asking for the value).

    Errors name the field at most, never the value.
    """
    field, value = parse_identifier(identifier)
    if value is None:
        value = click.prompt(f"{field}", hide_input=True, err=True)
    return field, identifier_key(field, value, settings.subject_key_secret.get_secret_value())
