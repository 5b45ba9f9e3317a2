"""The differential harness of decision plans: a processor with decision classes and its
reference without, alike in everything else, fed the same batches; their outputs must match byte
for byte."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from processor_support import CODEC, make_processor

from gateway.audit.chain import AuditChain
from gateway.audit.checkpoint import CheckpointSigner
from gateway.audit.files import ExportedMessage
from gateway.exchange.messages import BatchOutputs, InputMessage, OutputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.policy import CompiledPolicy

__all__ = ["KEY", "NOW", "pair", "same_outputs"]

NOW = datetime(2026, 11, 26, 9, 30, 15, 123000, tzinfo=UTC)
KEY = CheckpointSigner(Ed25519PrivateKey.generate())
"""Signs both processors' checkpoints; the audit logs verify with its public key."""


def pair(policy: CompiledPolicy | None = None) -> tuple[ExchangeProcessor, ExchangeProcessor]:
    """A processor with decision classes and its reference without, alike in everything else
    (deterministic ids, a checkpoint every 7 records on 2 audit partitions)."""

    def make(classes: int) -> ExchangeProcessor:
        counter = itertools.count()
        chain = AuditChain(CODEC, instance_id="gw-test", signer=KEY, checkpoint_every=7)
        return make_processor(
            policy,
            decision_classes=classes,
            ids=lambda: f"{next(counter):032x}",
            audit_chain=chain,
            audit_partitions=2,
        )

    return make(4096), make(0)


def _flat(out: BatchOutputs) -> list[tuple[Any, ...]]:
    def row(m: OutputMessage) -> tuple[Any, ...]:
        return (m.topic, m.key, m.value, m.partition, m.headers)

    return [row(m) for m in out.audit] + [row(m) for m in out.routed] + [tuple(out.seen_keys)]


def same_outputs(
    batches: Sequence[Sequence[InputMessage]],
    policy: CompiledPolicy | None = None,
    between: Callable[[ExchangeProcessor], None] | None = None,
) -> tuple[ExchangeProcessor, list[ExportedMessage]]:
    """Run ``batches`` through both processors at ``NOW``; assert identical outputs; return the
    fast one and its audit log."""
    fast, reference = pair(policy)
    log: list[ExportedMessage] = []
    for batch in batches:
        got, expected = fast.process_batch(batch, NOW), reference.process_batch(batch, NOW)
        assert _flat(got) == _flat(expected)
        log += [ExportedMessage(m.partition or 0, len(log), m.value) for m in got.audit]
        if between is not None:
            between(fast)
            between(reference)
    return fast, log
