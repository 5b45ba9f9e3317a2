"""Factories for audit chain tests: signing keys, chains, and sealed logs to tamper with."""

from __future__ import annotations

from typing import Any

import pytest
from audit_factories import CODEC, NOW, ChainFactory, LogFactory, record_fields
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.chain import AuditChain
from gateway.audit.checkpoint import CheckpointSigner
from gateway.audit.files import ExportedMessage


@pytest.fixture(scope="session")
def signer() -> CheckpointSigner:
    """A throwaway signing key (not the development one)."""
    return CheckpointSigner(Ed25519PrivateKey.generate())


@pytest.fixture
def chain_factory(signer: CheckpointSigner) -> ChainFactory:
    """``make(**options) -> AuditChain`` signing with ``signer`` unless told otherwise."""

    def make(**options: Any) -> AuditChain:
        options.setdefault("instance_id", "gw-test")
        options.setdefault("signer", signer)
        return AuditChain(CODEC, **options)

    return make


@pytest.fixture
def log_factory(chain_factory: ChainFactory) -> LogFactory:
    """``make(records=10, partitions=1, checkpoint_every=4) -> messages``: a sealed audit log in
    partition then offset order, a checkpoint after every ``checkpoint_every`` records."""

    def make(
        records: int = 10, partitions: int = 1, checkpoint_every: int = 4, **options: Any
    ) -> list[ExportedMessage]:
        chain = chain_factory(checkpoint_every=checkpoint_every, **options)
        logs: dict[int, list[bytes]] = {p: [] for p in range(partitions)}
        for n in range(records):
            partition = n % partitions
            logs[partition].append(chain.seal(partition, **record_fields(n)))
            if chain.checkpoint_due(partition):
                logs[partition].append(chain.checkpoint(partition, NOW))
        return [
            ExportedMessage(p, offset, value)
            for p in range(partitions)
            for offset, value in enumerate(logs[p])
        ]

    return make
