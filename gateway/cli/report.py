"""``gateway report``: the subject access report and the transparency report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from gateway.audit_store.periods import PERIOD_FORMS, parse_period
from gateway.audit_store.render import (
    SUBJECT_FORMATS,
    TRANSPARENCY_FORMATS,
    render_subject,
    render_transparency,
)
from gateway.audit_store.reports import (
    build_transparency_report,
    caps_from_policy,
    subject_access_report,
)
from gateway.cli._common import load_settings
from gateway.cli._options import output_option, policies_option
from gateway.cli._store import IDENTIFIER_HELP, db_option, opened_store, subject_key
from gateway.errors import PolicyError
from gateway.policy.tools import load_compiled

__all__ = ["report_group"]

_OUTPUT = output_option()


@click.group("report", short_help="Subject access and transparency reports.")
def report_group() -> None:
    """Reports from the audit store: subject access and transparency."""


@report_group.command("subject", short_help="Every exchange about one person.")
@click.option("--id", "identifier", required=True, metavar="FIELD=VALUE", help=IDENTIFIER_HELP)
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(SUBJECT_FORMATS),
    default="md",
    show_default=True,
    help="Output format.",
)
@_OUTPUT
def subject_command(identifier: str, audit_db: str | None, fmt: str, output: Path | None) -> None:
    """Who asked about one person, when, why, what was decided and which fields were released."""
    settings = load_settings()
    field, key = subject_key(identifier, settings)
    with opened_store(audit_db, settings) as store:
        report = subject_access_report(
            store, identifier_field=field, subject_key=key, generated_at=datetime.now(UTC)
        )
    _emit(render_subject(report, fmt), output, f"{len(report.exchanges)} request(s)")


@report_group.command("transparency", short_help="Decisions per agreement, purpose, outcome.")
@click.option("--period", required=True, help=f"{PERIOD_FORMS}, in UTC.")
@db_option
@policies_option("Agreements whose caps to compare with.", exists=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(TRANSPARENCY_FORMATS),
    default="md",
    show_default=True,
    help="Output format.",
)
@_OUTPUT
def transparency_command(
    period: str, audit_db: str | None, policies: Path | None, fmt: str, output: Path | None
) -> None:
    """Decisions per agreement, purpose and outcome; volume against caps; refusal reasons."""
    settings = load_settings()
    span = parse_period(period)
    notes = []
    try:
        policy = load_compiled(policies or settings.policies_dir)
    except PolicyError as exc:
        if policies is not None:
            raise
        policy = None
        notes.append(f"caps unknown: the policies in {settings.policies_dir} did not load ({exc})")
    with opened_store(audit_db, settings) as store:
        tally = store.tally(span.start, span.end)
    report = build_transparency_report(
        tally,
        span,
        generated_at=datetime.now(UTC),
        caps=caps_from_policy(policy) if policy is not None else None,
        policy_version=policy.version if policy is not None else None,
        notes=notes,
    )
    _emit(render_transparency(report, fmt), output, f"{report.total} decision(s)")


def _emit(text: str, output: Path | None, what: str) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output} ({what})", err=True)
