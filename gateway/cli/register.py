"""``gateway register``: the register of collaborations, with usage from the audit log."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from gateway.cli._audit_source import open_audit_source, tracked
from gateway.cli._options import (
    audit_file_option,
    bootstrap_option,
    output_option,
    policies_option,
    prefix_option,
)
from gateway.cli.policy import as_day, day_option, policies_dir
from gateway.policy.tools import build_register, load_compiled, render_register, usage_from_records
from gateway.policy.tools.register_formats import FORMATS

__all__ = ["register_command"]


@click.command("register", short_help="List every data-sharing agreement.")
@policies_option("Agreements to list.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="md",
    show_default=True,
    help="Output format.",
)
@audit_file_option("Count usage from this audit export or JSON audit records file.")
@bootstrap_option("Count usage from the audit topic on this Kafka cluster.", from_settings=False)
@prefix_option()
@day_option
@output_option()
def register_command(
    policies: Path | None,
    fmt: str,
    audit_file: Path | None,
    bootstrap: str | None,
    prefix: str | None,
    today: datetime | None,
    output: Path | None,
) -> None:
    """List every data-sharing agreement: parties, legal basis, purposes, status and dates."""
    policy = load_compiled(policies_dir(policies))
    usage = None
    if audit_file is not None or bootstrap is not None:
        with open_audit_source(audit_file, bootstrap, prefix) as source:
            usage = usage_from_records(tracked(source, f"counting {source.name}"))
    text = render_register(build_register(policy, usage, today=as_day(today)), fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output} ({len(policy.agreements)} agreements)", err=True)
