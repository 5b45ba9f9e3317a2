"""The audit chain a gateway's settings ask for."""

from __future__ import annotations

from datetime import timedelta

from gateway.audit.chain import AuditChain
from gateway.audit.checkpoint import CheckpointSigner
from gateway.envelope.codec import Codec
from gateway.settings import GatewaySettings

__all__ = ["audit_chain_from_settings"]


def audit_chain_from_settings(settings: GatewaySettings, codec: Codec) -> AuditChain:
    """Chained and signed (``GATEWAY_AUDIT_SIGNING_KEY``, or the development key with a
    warning), unless ``GATEWAY_AUDIT_CHAIN=false``."""
    if not settings.audit_chain:
        return AuditChain(codec, instance_id=settings.instance_id, chained=False)
    key = settings.audit_signing_key
    return AuditChain(
        codec,
        instance_id=settings.instance_id,
        signer=CheckpointSigner.load(key.get_secret_value() if key is not None else None),
        checkpoint_every=settings.audit_checkpoint_every,
        checkpoint_interval=timedelta(seconds=settings.audit_checkpoint_seconds),
    )
