"""Verify exported audit chains: every link, every sequence number, every checkpoint signature.

Per partition, in offset order, each message must carry the next sequence number and, as
``prev_hash``, the hash of the message before it (the genesis value for sequence 0). Only the
chain link is read from the raw bytes (see :mod:`gateway.audit.chain`); checkpoints, one in
``checkpoint_every`` messages, are decoded and their Ed25519 signatures checked. A checkpoint
saved earlier (``checkpoint=``) must still be in the log, byte for byte: otherwise the log was
truncated or rewritten since.

A partition the log declares (an export's header, or ``partitions=``) but holds no message of
fails: its records were deleted wholesale, which no chain inside it could show. So does a
partition a saved checkpoint names but the log lacks.

What the chain alone cannot show: messages cut from the end after the last checkpoint in the
log. The report warns of every such unsigned tail (:attr:`VerifyReport.warnings`); save
checkpoints regularly (``gateway audit checkpoint``) and verify against them, or bound the tail
with ``max_unsigned``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit._check import CheckContext, CheckOptions, PartitionCheck
from gateway.audit.checkpoint import KeySource, key_id, load_public_key
from gateway.audit.files import ExportedMessage, Row, read_checkpoints, read_export_rows
from gateway.audit.findings import ChainFinding, PartitionSummary, VerifyReport
from gateway.envelope.codec import Codec

__all__ = [
    "ChainFinding",
    "PartitionSummary",
    "SavedCheckpoints",
    "VerifyReport",
    "verify_export",
    "verify_messages",
]

SavedCheckpoints = Mapping[int, ExportedMessage] | Path | str
"""Checkpoints saved earlier: by partition, or the path of a saved-checkpoints file."""


def verify_export(
    path: Path | str,
    public_key: Ed25519PublicKey | KeySource | None = None,
    checkpoint: SavedCheckpoints | None = None,
    *,
    allow_missing_start: bool = False,
    max_unsigned: int | None = None,
) -> VerifyReport:
    """Verify an export file (see :mod:`gateway.audit.files`); ``public_key`` defaults to
    ``config/audit-signing.pub``. Options as for :func:`verify_messages`."""
    header, rows = read_export_rows(path)
    report = _verify_rows(
        rows,
        public_key,
        checkpoint,
        partitions=header.partitions,
        options=CheckOptions(allow_missing_start, max_unsigned),
        codec=None,
        declared_by="the export",
    )
    return dataclasses.replace(report, topic=header.topic)


def verify_messages(
    messages: Iterable[ExportedMessage],
    public_key: Ed25519PublicKey | KeySource | None = None,
    checkpoint: SavedCheckpoints | None = None,
    *,
    partitions: int = 0,
    allow_missing_start: bool = False,
    max_unsigned: int | None = None,
    codec: Codec | None = None,
) -> VerifyReport:
    """Verify audit messages given in offset order per partition (partitions may interleave).

    ``partitions``: how many the topic has; one of them without messages is a failure.
    ``allow_missing_start``: accept a chain whose first messages are gone (retention).
    ``max_unsigned``: fail a partition with more messages than this after its last valid
    checkpoint (a log rewritten without the signing key has none).
    """
    return _verify_rows(
        ((m.partition, m.offset, m.value) for m in messages),
        public_key,
        checkpoint,
        partitions=partitions,
        options=CheckOptions(allow_missing_start, max_unsigned),
        codec=codec,
    )


def _verify_rows(
    rows: Iterable[Row],
    public_key: Ed25519PublicKey | KeySource | None,
    checkpoint: SavedCheckpoints | None,
    *,
    partitions: int,
    options: CheckOptions,
    codec: Codec | None,
    declared_by: str = "the topic",
) -> VerifyReport:
    key = load_public_key(public_key)
    saved = read_checkpoints(checkpoint) if isinstance(checkpoint, Path | str) else checkpoint
    context = CheckContext(codec or Codec.default(), key, options, partitions, declared_by)
    checks: dict[int, PartitionCheck] = {}
    for partition in sorted({*range(partitions), *(saved or {})}):
        checks[partition] = PartitionCheck(partition, context, (saved or {}).get(partition))
    for partition, offset, value in rows:
        check = checks.get(partition)
        if check is None:
            check = checks[partition] = PartitionCheck(partition, context, None)
        check.feed(offset, value)
    summaries, problems = [], []
    for partition in sorted(checks):
        summary, problem = checks[partition].finish()
        summaries.append(summary)
        if problem is not None:
            problems.append(problem)
    return VerifyReport(key_id(key), tuple(summaries), tuple(problems))
