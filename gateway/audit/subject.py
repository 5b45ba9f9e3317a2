"""Pseudonymous subject keys: find one person's records without storing who they are."""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.envelope.datasets import SUBJECT_IDENTIFIER_BY_PROVIDER
from gateway.envelope.mac import HmacSha256
from gateway.errors import ConfigError

__all__ = ["SubjectKeyer", "identifier_key", "parse_identifier"]


def normalise_identifier(value: str) -> str:
    """The form an identifier is hashed in: case and inner spacing do not change the key."""
    return "".join(value.split()).casefold()


class SubjectKeyer:
    """Keyed hash (HMAC-SHA256) of a subject identifier, e.g. ``nhs_number=9990001234``.

    The key is secret, so the hash cannot be reversed by hashing every possible identifier; the
    same identifier always gives the same key, so a subject access report can find the records.
    """

    __slots__ = ("_key", "_mac")

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("subject key secret must be at least 16 bytes")
        self._key = secret
        self._mac = HmacSha256(secret)

    def derive_key(self, label: bytes) -> bytes:
        """A 32-byte key for another purpose, derived from the subject-key secret (HKDF-SHA256
        with ``label`` as its info): independent of the subject key and of other labels' keys."""
        return HKDF(algorithm=SHA256(), length=32, salt=None, info=label).derive(self._key)

    def key(self, field: str, value: str) -> str:
        message = f"{field}={normalise_identifier(value)}".encode()
        return self._mac.digest(message).hex()[:32]

    def subject_key(self, provider: str, values: Mapping[str, object]) -> str | None:
        """The key of the person ``values`` (a query to ``provider`` or a record from it) names
        by the identifier ``provider`` looks people up by; None when that field is missing, not
        a string, or empty (an empty identifier names nobody, so it never gets a key)."""
        field = SUBJECT_IDENTIFIER_BY_PROVIDER.get(provider)
        value = values.get(field) if field is not None else None
        if field is None or not isinstance(value, str) or not value.strip():
            return None
        return self.key(field, value)


def parse_identifier(identifier: str) -> tuple[str, str | None]:
    """``(field, value)`` of ``FIELD=VALUE``; the value is None when only ``FIELD`` is given.

    Errors name the field at most, never the value.
    """
    field, has_value, value = identifier.partition("=")
    field = field.strip()
    if not field.isidentifier():
        raise ConfigError("give the identifier as FIELD=VALUE, e.g. nhs_number=9990001234")
    if has_value and not value.strip():
        raise ConfigError(f"the {field} value is empty")
    return field, value if has_value else None


def identifier_key(field: str, value: str, secret: str) -> str:
    """The pseudonymous subject key of ``field=value`` under ``secret``
    (``GATEWAY_SUBJECT_KEY_SECRET``), as the gateway writes it into audit records."""
    if not value.strip():
        raise ConfigError(f"the {field} value is empty")
    try:
        keyer = SubjectKeyer(secret.encode())
    except ValueError as exc:
        raise ConfigError(f"GATEWAY_SUBJECT_KEY_SECRET: {exc}") from None
    return keyer.key(field, value)
