"""Audit: subject keys, the tamper-evident hash chain, signed checkpoints and verification.

The write side the processor uses per record (chain, checkpoint, gaps, subject, withheld) and the
one chain verifier (``verify`` for a whole log, ``follow`` for readers of the live topic). The
read model built from the audit topic (store, indexer, reports) is :mod:`gateway.audit_store`.

No Kafka here: reading and exporting the audit topic is :mod:`gateway.transport.audit_log`
(``export_audit``), and keeping the chains in step with it is
:mod:`gateway.transport.audit_keeper`.
"""

from gateway.audit.chain import (
    AuditChain,
    ChainHead,
    genesis_hash,
    message_hash,
    read_link,
)
from gateway.audit.checkpoint import (
    DEFAULT_PUBLIC_KEY_PATH,
    DEV_SIGNING_KEY_PATH,
    CheckpointSigner,
    load_public_key,
)
from gateway.audit.files import ExportedMessage, read_checkpoints, read_export
from gateway.audit.gaps import InputGap, InputGapDetector
from gateway.audit.subject import SubjectKeyer
from gateway.audit.verify import (
    ChainFinding,
    PartitionSummary,
    VerifyReport,
    verify_export,
    verify_messages,
)

__all__ = [
    "DEFAULT_PUBLIC_KEY_PATH",
    "DEV_SIGNING_KEY_PATH",
    "AuditChain",
    "ChainFinding",
    "ChainHead",
    "CheckpointSigner",
    "ExportedMessage",
    "InputGap",
    "InputGapDetector",
    "PartitionSummary",
    "SubjectKeyer",
    "VerifyReport",
    "genesis_hash",
    "load_public_key",
    "message_hash",
    "read_checkpoints",
    "read_export",
    "read_link",
    "verify_export",
    "verify_messages",
]
