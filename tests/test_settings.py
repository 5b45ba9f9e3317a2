"""The settings object: which secrets are still the public development ones, and a non-development
mode that refuses to start on any of them."""

from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from gateway.audit.checkpoint import DEV_SIGNING_KEY_PATH
from gateway.errors import ConfigError
from gateway.service import build_processor
from gateway.settings import GatewaySettings

SECRETS = {
    "token_secret": "token-secret-for-the-tests-0001",
    "subject_key_secret": "subject-key-secret-for-tests-01",
    "pseudonym_secret": "pseudonym-secret-for-the-tests1",
    "console_secret": "console-secret-for-the-tests-01",
}


def _pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def _keys() -> dict[str, str]:
    return {"audit_signing_key": _pem(), "message_signing_key": _pem()}


@pytest.mark.parametrize("left", sorted(SECRETS))
def test_each_secret_left_at_its_development_default_counts_as_a_development_secret(
    left: str,
) -> None:
    settings = GatewaySettings(**{k: v for k, v in SECRETS.items() if k != left})

    assert settings.uses_dev_secrets
    assert settings.development_secrets == [f"GATEWAY_{left.upper()}"]


def test_no_development_secret_once_every_secret_is_set() -> None:
    settings = GatewaySettings(**SECRETS)

    assert not settings.uses_dev_secrets
    assert settings.development_secrets == []


def test_development_is_the_default_mode() -> None:
    assert GatewaySettings().is_development


def test_the_gateway_warns_about_the_subject_key_secret_when_only_the_token_secret_is_set(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = GatewaySettings(token_secret=SECRETS["token_secret"])

    with caplog.at_level(logging.WARNING, logger="gateway"):
        build_processor(settings)

    assert "GATEWAY_SUBJECT_KEY_SECRET" in caplog.text
    assert "GATEWAY_TOKEN_SECRET" not in caplog.text


@pytest.mark.parametrize("left", sorted(SECRETS))
def test_production_refuses_to_start_with_any_development_secret(left: str) -> None:
    given = {k: v for k, v in SECRETS.items() if k != left}
    settings = GatewaySettings(env="production", **given, **_keys())

    with pytest.raises(ConfigError, match=f"GATEWAY_{left.upper()}"):
        build_processor(settings)


@pytest.mark.parametrize("key", ["audit_signing_key", "message_signing_key"])
def test_production_refuses_to_start_on_a_development_signing_key(key: str) -> None:
    keys = {k: v for k, v in _keys().items() if k != key}
    settings = GatewaySettings(env="production", **SECRETS, **keys)

    with pytest.raises(ConfigError, match=f"GATEWAY_{key.upper()}"):
        build_processor(settings)


def test_production_refuses_the_development_audit_key_named_by_its_path() -> None:
    keys = {**_keys(), "audit_signing_key": str(DEV_SIGNING_KEY_PATH)}
    settings = GatewaySettings(env="staging", **SECRETS, **keys)

    with pytest.raises(ConfigError, match="GATEWAY_AUDIT_SIGNING_KEY"):
        build_processor(settings)


def test_production_starts_once_every_secret_and_key_is_set() -> None:
    settings = GatewaySettings(env="production", **SECRETS, **_keys())

    assert build_processor(settings).codec is not None


def test_development_mode_starts_on_the_development_secrets_and_keys() -> None:
    assert build_processor(GatewaySettings()).codec is not None
