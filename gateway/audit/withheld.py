"""Values the gateway will not repeat: in audit records and reasons they appear only as their
length and a keyed hash, ``<invalid: 38 chars, hmac 1a2b3c4d5e6f>``.

A request's identifiers (purpose, agreement, departments, request id) reach the audit log. One
that does not have its identifier shape, or names nothing the policy set knows, may be anything a
requester typed, a person's name and diagnosis included, so it is never written as it is. The
hash, keyed so that nobody without the key can test guesses against it, still shows that two
records carry the same value. Its key is derived from the subject-key secret (the one behind the
audit log's pseudonymous subject keys) under its own label, so the two kinds of hash never
coincide.
"""

from __future__ import annotations

import hmac

from gateway.audit.subject import SubjectKeyer

__all__ = ["WithheldValues"]

WITHHELD_KEY_LABEL = b"dx.gateway/withheld-value/v1"
_DIGITS = 12


class WithheldValues:
    """Describes values by length and keyed hash (HMAC-SHA256, first 12 hex digits)."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("withheld-value key must be at least 16 bytes")
        self._key = key

    @classmethod
    def for_subjects(cls, subjects: SubjectKeyer) -> WithheldValues:
        """Keyed from the subject-key secret behind ``subjects``."""
        return cls(subjects.derive_key(WITHHELD_KEY_LABEL))

    def invalid(self, value: object) -> str:
        """A value without the shape its field requires."""
        return self._describe("invalid", value)

    def unknown(self, value: object) -> str:
        """A well-shaped value that names nothing the gateway knows."""
        return self._describe("unknown", value)

    def _describe(self, kind: str, value: object) -> str:
        text = value if isinstance(value, str) else repr(value)
        digest = hmac.digest(self._key, text.encode(errors="surrogatepass"), "sha256")
        return f"<{kind}: {len(text)} chars, hmac {digest.hex()[:_DIGITS]}>"
