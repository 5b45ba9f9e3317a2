"""Signed audit checkpoints: Ed25519 keys, the bytes a checkpoint signs, and their checks.

A checkpoint signs ``signed_bytes(...)``: compact JSON of a format tag and the checkpoint's
partition, sequence, head hash (``prev_hash``), time in epoch milliseconds, gateway instance and
key id. JSON keeps the byte string unambiguous and easy to rebuild in any language.

The development key pair ships in ``config/`` so that a fresh checkout runs and verifies; its
private half is public knowledge, so signatures made with it prove nothing. Production sets
``GATEWAY_AUDIT_SIGNING_KEY`` and verifies with its own public key.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway import keys
from gateway.envelope.models import AuditCheckpoint
from gateway.errors import AuditKeyError
from gateway.keys import CONFIG_DIR, KeySource, key_id

__all__ = [
    "DEFAULT_PUBLIC_KEY_PATH",
    "DEV_SIGNING_KEY_PATH",
    "CheckpointSigner",
    "KeySource",
    "checkpoint_problem",
    "is_development_key",
    "key_id",
    "load_public_key",
    "signed_bytes",
]

log = logging.getLogger("gateway.audit")

DEV_SIGNING_KEY_PATH = CONFIG_DIR / "audit-signing-dev.key"
"""The development private key: for local runs and tests only, never for real evidence."""
DEFAULT_PUBLIC_KEY_PATH = CONFIG_DIR / "audit-signing.pub"
"""The public key verification uses unless told otherwise (the development key's, as shipped)."""

_FORMAT_TAG = "dx.gateway.AuditCheckpoint/1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def to_millis(at: datetime) -> int:
    """Epoch milliseconds, truncated as Avro ``timestamp-millis`` stores them."""
    return (at - _EPOCH) // _MILLISECOND


def signed_bytes(
    *,
    partition: int,
    sequence: int,
    prev_hash: str,
    at: datetime,
    gateway_instance: str,
    key_id: str,
) -> bytes:
    """The canonical byte string a checkpoint's signature covers."""
    fields = [_FORMAT_TAG, partition, sequence, prev_hash, to_millis(at), gateway_instance, key_id]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode()


class CheckpointSigner:
    """Signs checkpoints with one Ed25519 private key."""

    __slots__ = ("_key", "is_development", "key_id", "public_key")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)
        self.is_development = self.key_id == _development_key_id()
        """True for the key shipped in ``config/``: fine for development, worthless as evidence."""

    @classmethod
    def load(cls, source: KeySource | None = None) -> CheckpointSigner:
        """A signer for the key in ``source`` (a PEM path or PEM text); None: the development key,
        with a warning."""
        signer = cls(_load_private_key(DEV_SIGNING_KEY_PATH if source is None else source))
        if signer.is_development:
            log.warning(
                "audit checkpoints are signed with the DEVELOPMENT key %s (key id %s): anyone can "
                "forge them; set GATEWAY_AUDIT_SIGNING_KEY in production",
                DEV_SIGNING_KEY_PATH.name,
                signer.key_id,
            )
        return signer

    def sign(
        self, *, partition: int, sequence: int, prev_hash: str, at: datetime, gateway_instance: str
    ) -> AuditCheckpoint:
        """A checkpoint at ``sequence`` certifying head ``prev_hash``; ``at`` is kept to the ms."""
        at = at - timedelta(microseconds=at.microsecond % 1000)
        message = signed_bytes(
            partition=partition,
            sequence=sequence,
            prev_hash=prev_hash,
            at=at,
            gateway_instance=gateway_instance,
            key_id=self.key_id,
        )
        return AuditCheckpoint(
            prev_hash=prev_hash,
            sequence=sequence,
            partition=partition,
            at=at,
            gateway_instance=gateway_instance,
            key_id=self.key_id,
            signature=self._key.sign(message),
        )


def is_development_key(public_key: Ed25519PublicKey) -> bool:
    """Whether this is the public half of the development key shipped in ``config/``."""
    return key_id(public_key) == _development_key_id()


def checkpoint_problem(checkpoint: AuditCheckpoint, public_key: Ed25519PublicKey) -> str | None:
    """Why ``checkpoint``'s signature does not hold for ``public_key``, or None if it does."""
    expected = key_id(public_key)
    if checkpoint.key_id != expected:
        return (
            f"checkpoint is signed with key {checkpoint.key_id}, not the verification key "
            f"{expected}"
        )
    message = signed_bytes(
        partition=checkpoint.partition,
        sequence=checkpoint.sequence,
        prev_hash=checkpoint.prev_hash,
        at=checkpoint.at,
        gateway_instance=checkpoint.gateway_instance,
        key_id=checkpoint.key_id,
    )
    try:
        public_key.verify(checkpoint.signature, message)
    except InvalidSignature:
        return "checkpoint signature does not verify: the checkpoint was forged or altered"
    return None


def load_public_key(source: Ed25519PublicKey | KeySource | None = None) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM path or PEM text; None: ``config/audit-signing.pub``."""
    return keys.load_public_key(
        DEFAULT_PUBLIC_KEY_PATH if source is None else source, AuditKeyError
    )


def _load_private_key(source: KeySource) -> Ed25519PrivateKey:
    return keys.load_private_key(source, AuditKeyError)


@functools.cache
def _development_key_id() -> str | None:
    try:
        return key_id(_load_private_key(DEV_SIGNING_KEY_PATH).public_key())
    except AuditKeyError:
        return None
