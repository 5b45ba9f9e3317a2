"""Checkpoint signatures and signing keys: the canonical bytes, key loading, the development key."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from audit_factories import NOW
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from gateway.audit.checkpoint import (
    DEFAULT_PUBLIC_KEY_PATH,
    DEV_SIGNING_KEY_PATH,
    CheckpointSigner,
    checkpoint_problem,
    is_development_key,
    key_id,
    load_public_key,
    signed_bytes,
)
from gateway.errors import AuditKeyError, ConfigError


def test_the_signed_bytes_are_a_stable_compact_json_of_every_field() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 678999, tzinfo=UTC)

    assert signed_bytes(
        partition=3,
        sequence=1000,
        prev_hash="ab" * 32,
        at=at,
        gateway_instance="gw-1",
        key_id="0123456789abcdef",
    ) == (
        b'["dx.gateway.AuditCheckpoint/1",3,1000,"' + b"ab" * 32 + b'",1767323045678,'
        b'"gw-1","0123456789abcdef"]'
    )


@pytest.mark.parametrize(
    "change",
    [
        {"partition": 2},
        {"sequence": 7},
        {"prev_hash": "cd" * 32},
        {"at": datetime(2030, 1, 1, tzinfo=UTC)},
        {"gateway_instance": "gw-evil"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_changing_any_signed_field_invalidates_the_signature(change: dict[str, object]) -> None:
    signer = CheckpointSigner(Ed25519PrivateKey.generate())
    checkpoint = signer.sign(
        partition=1, sequence=5, prev_hash="ab" * 32, at=NOW, gateway_instance="gw-1"
    )

    assert checkpoint_problem(checkpoint, signer.public_key) is None
    assert "does not verify" in str(
        checkpoint_problem(checkpoint.model_copy(update=change), signer.public_key)
    )


def test_a_key_id_is_the_start_of_the_public_keys_sha256() -> None:
    public = load_public_key(DEFAULT_PUBLIC_KEY_PATH)

    assert len(key_id(public)) == 16
    assert key_id(public) == CheckpointSigner.load(DEV_SIGNING_KEY_PATH).key_id


def test_the_development_key_is_used_by_default_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.audit"):
        signer = CheckpointSigner.load()

    assert signer.is_development
    assert is_development_key(load_public_key())  # the shipped verification key matches it
    assert "DEVELOPMENT key" in caplog.text


def test_a_production_key_loads_from_a_path_or_from_pem_text_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    (tmp_path / "k.pem").write_text(pem)

    with caplog.at_level(logging.WARNING, logger="gateway.audit"):
        from_path = CheckpointSigner.load(tmp_path / "k.pem")
        from_text = CheckpointSigner.load(pem)

    assert from_path.key_id == from_text.key_id == key_id(key.public_key())
    assert not from_path.is_development
    assert caplog.text == ""


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read key file"),
        (b"not a key", "is not an unencrypted PEM private key"),
        (
            X25519PrivateKey.generate().private_bytes(
                Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
            ),
            "not an Ed25519 private key",
        ),
    ],
    ids=["missing", "garbage", "wrong-algorithm"],
)
def test_an_unusable_signing_key_is_a_configuration_error(
    tmp_path: Path, content: bytes | None, problem: str
) -> None:
    path = tmp_path / "key.pem"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(AuditKeyError, match=problem) as caught:
        CheckpointSigner.load(path)
    assert isinstance(caught.value, ConfigError)
    assert caught.value.code == "audit_key_invalid"
