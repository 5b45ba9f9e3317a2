"""``gateway audit``: export the audit log, verify its hash chains and signed checkpoints.

Other audit sub-commands join :data:`audit_group` from their own modules.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import click

from gateway.audit.checkpoint import is_development_key, load_public_key
from gateway.audit.files import write_checkpoints
from gateway.audit.verify import VerifyReport, verify_export
from gateway.cli._common import load_settings
from gateway.cli._options import (
    AliasedOption,
    audit_file_option,
    bootstrap_option,
    output_option,
    prefix_option,
)
from gateway.errors import ChainBrokenError
from gateway.transport.topics import TopicNames

__all__ = ["audit_group"]

_FILE = click.Path(dir_okay=False, path_type=Path)
_EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("audit", short_help="Export, verify, checkpoint, index and query.")
def audit_group() -> None:
    """The tamper-evident audit log: export, verify, checkpoint, index into a store, query."""


@audit_group.command("export", short_help="Write every audit partition to a file.")
@bootstrap_option(required=True)
@prefix_option()
@output_option("Export file to write (JSON lines).", required=True)
@click.option(
    "--checkpoint-output",
    cls=AliasedOption,
    hidden_aliases=("--checkpoint-out",),
    type=_FILE,
    help="Also save each partition's latest signed checkpoint here, for a later "
    "`verify --checkpoint`.",
)
def export_command(
    bootstrap: str, prefix: str | None, output: Path, checkpoint_output: Path | None
) -> None:
    """Write every audit partition's messages, in order, with their exact bytes."""
    from gateway.transport.audit_log import export_audit  # kept local: importing aiokafka is slow

    topics = TopicNames(prefix or load_settings().topic_prefix)
    done = asyncio.run(export_audit(bootstrap, topics, output, checkpoints_path=checkpoint_output))
    click.echo(
        f"exported {done.messages} message(s) of {done.topic} "
        f"({done.partitions} partitions) to {done.path}"
    )
    if done.checkpoints_path is not None:
        click.echo(f"saved {done.checkpoints} checkpoint(s) to {done.checkpoints_path}")


@audit_group.command("verify", short_help="Verify the audit chain, live or exported.")
@audit_file_option("An export file to verify.", dest="export")
@bootstrap_option("Or verify the audit topic itself, read from this cluster.", from_settings=False)
@prefix_option()
@click.option(
    "--public-key",
    type=_EXISTING,
    help="Checkpoint verification key (PEM).",
    show_default="config/audit-signing.pub",
)
@click.option(
    "--checkpoint",
    type=_EXISTING,
    help="Checkpoints saved earlier: the log must still contain them, byte for byte.",
)
@click.option(
    "--allow-missing-start",
    is_flag=True,
    help="Accept chains whose first messages retention has removed.",
)
@click.option(
    "--max-unsigned",
    type=click.IntRange(min=0),
    help="Fail a partition with more messages than this after its last valid checkpoint.",
)
def verify_command(
    export: Path | None,
    bootstrap: str | None,
    prefix: str | None,
    public_key: Path | None,
    checkpoint: Path | None,
    allow_missing_start: bool,
    max_unsigned: int | None,
) -> None:
    """Check every link, sequence number and checkpoint signature.

    Exits 0 when the log is intact, 1 naming the first bad message of each broken partition.
    A partition the export declares, or a saved checkpoint names, but the log holds nothing of
    is broken too. Records after a partition's last signed checkpoint are reported as a warning
    (exit 0 unless more than --max-unsigned).
    """
    if (export is None) == (bootstrap is None):
        raise click.UsageError("give exactly one of --audit-file and --bootstrap")
    key = load_public_key(public_key)
    if is_development_key(key):
        click.echo("note: verifying with the DEVELOPMENT public key (config/audit-signing.pub)")
    if export is not None:
        report = verify_export(
            export,
            key,
            checkpoint,
            allow_missing_start=allow_missing_start,
            max_unsigned=max_unsigned,
        )
    else:
        from gateway.transport.audit_log import export_audit  # importing aiokafka is slow

        assert bootstrap is not None
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "audit.jsonl"
            topics = TopicNames(prefix or load_settings().topic_prefix)
            asyncio.run(export_audit(bootstrap, topics, copy))
            report = verify_export(
                copy,
                key,
                checkpoint,
                allow_missing_start=allow_missing_start,
                max_unsigned=max_unsigned,
            )
    _finish(report)


@audit_group.command("checkpoint", short_help="Save each partition's latest checkpoint.")
@audit_file_option("An export file that verifies.", dest="export", required=True)
@output_option("Where to save the checkpoints.", required=True)
@click.option(
    "--public-key",
    type=_EXISTING,
    help="Checkpoint verification key (PEM).",
    show_default="config/audit-signing.pub",
)
def checkpoint_command(export: Path, output: Path, public_key: Path | None) -> None:
    """Save each partition's latest signed checkpoint from an export that verifies, so a later
    verification can show the log was not truncated or rewritten since."""
    report = verify_export(export, public_key)
    if not report.ok:
        _finish(report)
    latest = [p.latest_checkpoint for p in report.partitions if p.latest_checkpoint is not None]
    saved = write_checkpoints(output, report.topic or "", latest)
    click.echo(f"saved {saved} checkpoint(s) to {output}")
    for p in report.partitions:
        if p.unsigned:
            click.echo(
                f"note: partition {p.partition} has {p.unsigned} message(s) after its last "
                "checkpoint, which these checkpoints do not cover"
            )


@audit_group.command("bench", short_help="Measure verification and sealing speed.")
@click.option("--records", default=200_000, show_default=True, help="Synthetic records.")
@click.option("--partitions", default=4, show_default=True, help="Chains to spread them over.")
def bench_command(records: int, partitions: int) -> None:
    """Measure verification speed and the cost of sealing against plain encoding."""
    from gateway.bench.audit import run_bench

    for line in run_bench(records, partitions).describe():
        click.echo(line)


def _finish(report: VerifyReport) -> None:
    for line in report.describe():
        click.echo(line)
    if not report.ok:
        raise ChainBrokenError(f"the audit log is broken: {report.problems[0]}")
