"""Ed25519 keys from PEM files or PEM text, and the ids that name them.

The gateway signs with two key pairs: one for audit checkpoints (:mod:`gateway.audit.checkpoint`),
one for the messages it sends departments (:mod:`gateway.envelope.signature`). Errors name where a
key came from, never the key itself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from gateway.errors import ConfigError

__all__ = ["CONFIG_DIR", "KeySource", "key_id", "load_private_key", "load_public_key"]

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
"""Where the development keys and the shipped public keys live."""

KeySource = str | Path | bytes
"""A PEM file's path, or the PEM text itself (``str`` or ``bytes`` containing ``-----BEGIN``)."""


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of SHA-256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_private_key(
    source: KeySource, error: type[ConfigError] = ConfigError
) -> Ed25519PrivateKey:
    """An unencrypted Ed25519 private key; anything else raises ``error``."""
    pem, where = _pem(source, error)
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise error(f"{where} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise error(f"{where} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def load_public_key(
    source: Ed25519PublicKey | KeySource, error: type[ConfigError] = ConfigError
) -> Ed25519PublicKey:
    """An Ed25519 public key (returned as is if it already is one); anything else raises
    ``error``."""
    if isinstance(source, Ed25519PublicKey):
        return source
    pem, where = _pem(source, error)
    try:
        key = load_pem_public_key(pem)
    except ValueError as exc:
        raise error(f"{where} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise error(f"{where} holds a {type(key).__name__}, not an Ed25519 public key")
    return key


def _pem(source: KeySource, error: type[ConfigError]) -> tuple[bytes, str]:
    """PEM bytes and how to name their origin in errors (never the key itself)."""
    if isinstance(source, bytes):
        return source, "the given key"
    if isinstance(source, str) and "-----BEGIN" in source:
        return source.encode(), "the given key"
    path = Path(source)
    try:
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise error(f"cannot read key file {path}: {exc.strerror}") from None
