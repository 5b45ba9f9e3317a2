"""The campaign's audit log: exported, its chains verified, its decisions counted by request."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.chain import is_checkpoint
from gateway.audit.files import read_export
from gateway.audit.verify import verify_export
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage
from gateway.transport.audit_log import export_audit
from gateway.transport.topics import TopicNames

__all__ = ["AuditFindings", "check_audit"]


@dataclass(slots=True)
class AuditFindings:
    chain_valid: bool
    records: int
    decisions: int
    """Request- and response-stage records (checkpoints and other stages not counted)."""
    request_decisions: Counter[str] = field(default_factory=Counter)
    """Request-stage decisions per request id, duplicates of a request not counted."""
    problems: list[str] = field(default_factory=list)


async def check_audit(
    bootstrap: str,
    topics: TopicNames,
    export: Path,
    public_key: Ed25519PublicKey | None,
    codec: Codec,
) -> AuditFindings:
    """Export the audit topic to ``export`` and verify it as ``gateway audit verify`` does."""
    await export_audit(bootstrap, topics, export)
    report = verify_export(export, public_key)
    findings = AuditFindings(
        chain_valid=report.ok,
        records=report.messages,
        decisions=0,
        problems=[str(problem) for problem in report.problems],
    )
    _, messages = read_export(export)
    for message in messages:
        if is_checkpoint(codec, message.value):
            continue
        record = codec.decode(message.value, AuditRecord)
        if record.stage not in (AuditStage.REQUEST, AuditStage.RESPONSE):
            continue
        findings.decisions += 1
        if (
            record.stage is AuditStage.REQUEST
            and record.request_id is not None
            and record.outcome is not AuditOutcome.DUPLICATE
        ):
            findings.request_decisions[record.request_id] += 1
    return findings
