"""CLI plumbing for commands that read the audit store: which store, and whose subject key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from gateway.audit.subject import identifier_key, parse_identifier
from gateway.audit_store import AuditStore, open_store
from gateway.settings import GatewaySettings

__all__ = ["IDENTIFIER_HELP", "db_option", "opened_store", "subject_key"]

IDENTIFIER_HELP = (
    "FIELD=VALUE, e.g. nhs_number=9990001234, matched by its pseudonymous key (the identifier "
    "is neither stored nor printed); FIELD alone asks for the value without echoing it."
)

db_option = click.option(
    "--db",
    metavar="URL",
    help="Audit store: sqlite:///FILE or postgresql://... (default: GATEWAY_AUDIT_DB, "
    "sqlite:///audit.db).",
)


@contextmanager
def opened_store(db: str | None, settings: GatewaySettings) -> Iterator[AuditStore]:
    """The store ``--db`` names, else the configured one; closed afterwards."""
    store = open_store(db or settings.audit_db.get_secret_value())
    try:
        yield store
    finally:
        store.close()


def subject_key(identifier: str, settings: GatewaySettings) -> tuple[str, str]:
    """``(field, key)`` for ``FIELD=VALUE`` (or ``FIELD``, asking for the value).

    Errors name the field at most, never the value.
    """
    field, value = parse_identifier(identifier)
    if value is None:
        value = click.prompt(f"{field}", hide_input=True, err=True)
    return field, identifier_key(field, value, settings.subject_key_secret.get_secret_value())
