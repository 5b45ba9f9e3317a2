"""``gateway audit query``: decisions from the audit store, filtered, newest first."""

from __future__ import annotations

import click

from gateway.audit_store import DecisionQuery
from gateway.audit_store.periods import parse_time
from gateway.audit_store.render import DECISION_FORMATS, render_decisions
from gateway.cli._common import load_settings
from gateway.cli._store import IDENTIFIER_HELP, db_option, opened_store, subject_key
from gateway.envelope.models import AuditOutcome

__all__ = ["query_command"]


@click.command("query", short_help="List audited decisions from the store.")
@db_option
@click.option("--dept", help="A department that asked or was asked.")
@click.option("--agreement", "agreement_id", help="Agreement id.")
@click.option("--purpose", help="Purpose id.")
@click.option(
    "--outcome",
    type=click.Choice([o.value for o in AuditOutcome], case_sensitive=False),
    metavar="OUTCOME",
    help=f"Decision outcome: {', '.join(o.value.lower() for o in AuditOutcome)}.",
)
@click.option("--since", metavar="TIME", help="From this time (ISO 8601; UTC unless zoned).")
@click.option("--until", metavar="TIME", help="Before this time (ISO 8601; UTC unless zoned).")
@click.option(
    "--subject", metavar="FIELD=VALUE", help=f"Decisions about one person: {IDENTIFIER_HELP}"
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(DECISION_FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="At most this many decisions (0: all).",
)
def query_command(
    audit_db: str | None,
    dept: str | None,
    agreement_id: str | None,
    purpose: str | None,
    outcome: str | None,
    since: str | None,
    until: str | None,
    subject: str | None,
    fmt: str,
    limit: int,
) -> None:
    """List audited decisions (names of fields, never values) from the audit store."""
    settings = load_settings()
    query = DecisionQuery(
        dept=dept,
        agreement_id=agreement_id,
        purpose=purpose,
        outcome=AuditOutcome(outcome.upper()) if outcome else None,
        since=parse_time(since) if since else None,
        until=parse_time(until) if until else None,
        subject_key=subject_key(subject, settings)[1] if subject else None,
        limit=limit or None,
    )
    with opened_store(audit_db, settings) as store:
        items = store.decisions(query)
    click.echo(render_decisions(items, fmt), nl=False)
