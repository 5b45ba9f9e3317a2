"""``gateway policy``: check, explain, diff and simulate data-sharing agreements.

``check`` and ``diff`` exit 1 when agreements do not load (``check --strict`` also on warnings):
that is their verdict, as with a linter, and not an error of the command. Other commands map
errors to exit statuses through :data:`gateway.cli.EXIT_CODES`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from gateway.cli._audit_source import open_audit_source, tracked
from gateway.cli._common import load_settings
from gateway.cli._options import (
    audit_file_option,
    bootstrap_option,
    format_option,
    policies_option,
    prefix_option,
)
from gateway.errors import PolicyLoadError
from gateway.policy.compiler import CompiledPolicy
from gateway.policy.tools import (
    CheckReport,
    SimulationReport,
    check_policies,
    diff_policies,
    explain_request,
    load_compiled,
    read_request_file,
    render_changes,
    simulate,
)
from gateway.policy.tools.simulate_report import decision_rows

__all__ = ["as_day", "day_option", "policies_dir", "policy_group"]

VERDICT_FAILED = 1
"""Exit status of ``check`` and ``diff`` when the agreements do not pass."""

_PIPE_WIDTH = 160
"""Table width when the output is not a terminal (a file or a pipe)."""

_DIR = click.Path(file_okay=False, path_type=Path)
_FILE = click.Path(dir_okay=False, path_type=Path)

day_option = click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Judge dates as of this day (YYYY-MM-DD).",
    show_default="today, UTC",
)


def policies_dir(given: Path | None) -> Path:
    """``--policies`` when given, else the gateway's configured policy directory."""
    return given if given is not None else load_settings().policies_dir


def as_day(value: datetime | None) -> date:
    """The UTC day of ``value`` (a date as click reads it, or an aware time); default today."""
    if value is None:
        return datetime.now(UTC).date()
    return value.astimezone(UTC).date() if value.utcoffset() is not None else value.date()


@click.group("policy", short_help="Check, explain, diff and simulate agreements.")
def policy_group() -> None:
    """Tools for compliance officers: check, explain, diff and simulate agreements."""


@policy_group.command("check", short_help="Validate and lint every agreement.")
@click.argument("directory", type=_DIR)
@day_option
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@format_option(("table", "text", "json"))
def check_command(directory: Path, today: datetime | None, strict: bool, fmt: str) -> None:
    """Validate every agreement in DIRECTORY and lint it; exit 1 on errors."""
    report = check_policies(directory, as_day(today))
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    elif fmt == "text":
        click.echo("\n".join(report.lines()))
    else:
        _check_table(report)
    if not report.passed(strict=strict):
        sys.exit(VERDICT_FAILED)


@policy_group.command("explain", short_help="Explain the decision on one request.")
@click.argument("request_file", type=_FILE)
@policies_option("Agreements to decide under.")
@click.option(
    "--sender",
    metavar="DEPT",
    help="The department the request arrives from.",
    show_default="its requester",
)
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="When the gateway receives it, which is when it is decided: ISO 8601, converted to UTC.",
    show_default="its sent_at, or now",
)
@format_option(("text", "json"))
def explain_command(
    request_file: Path, policies: Path | None, sender: str | None, at: str | None, fmt: str
) -> None:
    """Explain the decision on one request (a JSON or YAML ExchangeRequest)."""
    when = _moment(at)
    policy = load_compiled(policies_dir(policies))
    request = read_request_file(request_file, at=when)
    window = load_settings().sent_at_window
    explanation = explain_request(policy, request, sender, when, sent_at_window=window)
    if fmt == "json":
        click.echo(json.dumps(explanation.to_dict(), indent=2))
    else:
        click.echo("\n".join(explanation.lines()))


@policy_group.command("diff", short_help="What a new policy revision changes.")
@click.argument("old_dir", type=_DIR)
@click.argument("new_dir", type=_DIR)
@format_option(("text", "md", "json"))
def diff_command(old_dir: Path, new_dir: Path, fmt: str) -> None:
    """What NEW_DIR changes compared with OLD_DIR, per agreement and purpose."""
    old, new = _load_or_report(old_dir), _load_or_report(new_dir)
    if old is None or new is None:
        sys.exit(VERDICT_FAILED)
    changes = diff_policies(old, new)
    click.echo(render_changes(changes, fmt, old=old.version, new=new.version), nl=False)


@policy_group.command("simulate", short_help="Replay recorded requests under candidates.")
@policies_option("Candidate agreements.")
@audit_file_option("Replay the requests of this audit export or JSON audit records file.")
@bootstrap_option("Or replay those of the audit topic on this Kafka cluster.", from_settings=False)
@prefix_option()
@format_option(("table", "text", "json"))
@click.option("--details", is_flag=True, help="List every decision that would change.")
def simulate_command(
    policies: Path | None,
    audit_file: Path | None,
    bootstrap: str | None,
    prefix: str | None,
    fmt: str,
    details: bool,
) -> None:
    """Replay recorded requests under candidate agreements; report decisions that would change
    in outcome or in the fields sent, released, transformed or withheld: a summary per agreement
    and purpose, and with --details each decision."""
    policy = load_compiled(policies_dir(policies))
    with open_audit_source(audit_file, bootstrap, prefix) as audit:
        replayed = tracked(audit, f"replaying {audit.name}")
        report = simulate(policy, replayed, sent_at_window=load_settings().sent_at_window)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(details=details), indent=2))
    elif fmt == "text":
        click.echo("\n".join(report.lines(details=details)))
    else:
        _simulation_tables(report, details=details)


def _load_or_report(directory: Path) -> CompiledPolicy | None:
    try:
        return load_compiled(directory)
    except PolicyLoadError as exc:
        click.echo(f"{directory}: does not load", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        return None


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--at") from None
    if moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)  # the instant decides, not the offset it is written in


def _print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table = Table(title=title, title_justify="left")
    last = len(columns) - 1
    for index, column in enumerate(columns):
        table.add_column(column, no_wrap=index < last, min_width=30 if index == last else None)
    for row in rows:
        table.add_row(*row)
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = _PIPE_WIDTH
    console.print(table)


def _check_table(report: CheckReport) -> None:
    if report.findings:
        rows = [(f.severity.value, f.where, f.code, f.message) for f in report.findings]
        _print_table("Findings", ("severity", "where", "code", "problem"), rows)
    click.echo(report.summary())


def _simulation_tables(report: SimulationReport, *, details: bool) -> None:
    click.echo(report.summary())
    groups = report.groups()
    if not groups:
        return
    rows = [
        (f"{g.agreement_id} / {g.purpose}", str(len(g.changes)), g.moves(), g.fields_text())
        for g in groups
    ]
    _print_table("Per agreement and purpose", ("purpose", "changed", "outcomes", "fields"), rows)
    if not details:
        click.echo(f"(--details lists the {len(report.changes)} decisions)")
        return
    columns = ("recorded at", "request", "decision", "reasons now; fields")
    for group in groups:
        title = f"{group.agreement_id} / {group.purpose}: {len(group.changes)} would change"
        _print_table(title, columns, decision_rows(group.changes))
