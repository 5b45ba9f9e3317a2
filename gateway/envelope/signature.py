"""Gateway signatures on what departments receive from it: routed requests and replies.

The gateway signs :func:`signed_bytes` (a format tag, the destination topic and the exact
single-object Avro bytes of the message) with its Ed25519 message signing key
(``GATEWAY_MESSAGE_SIGNING_KEY``). The signature travels in the Kafka header ``dx-signature`` and
the key's id in ``dx-key-id``, so the payload stays plain Avro for any reader. A department
verifies with the gateway's public key alone, no shared secret: a message written to its topic
by anyone else does not verify, nor does a genuine one copied from another department's topic.

The development key pair ships in ``config/`` (``message-signing-dev.key``, public half
``message-signing.pub``); its private half is public knowledge, so production sets its own key
and gives departments the public half.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.errors import SigningKeyError
from gateway.keys import CONFIG_DIR, KeySource, key_id, load_private_key, load_public_key

__all__ = [
    "Headers",
    "MessageSigner",
    "MessageVerifier",
    "signed_bytes",
]

log = logging.getLogger("gateway.envelope")

DEV_MESSAGE_SIGNING_KEY_PATH = CONFIG_DIR / "message-signing-dev.key"
"""The development private key: for local runs and tests only."""
MESSAGE_PUBLIC_KEY_PATH = CONFIG_DIR / "message-signing.pub"
"""The public key departments verify with unless given another (the development key's)."""

SIGNATURE_HEADER = "dx-signature"
KEY_ID_HEADER = "dx-key-id"
_TAG = b"dx.gateway.SignedMessage/1\x00"

Headers = list[tuple[str, bytes]]
"""Kafka headers as aiokafka's producer takes them."""


def signed_bytes(topic: str, value: bytes) -> bytes:
    """What a signature covers: the message's bytes and where they were sent (topic names cannot
    hold the NUL byte that separates them)."""
    return b"".join((_TAG, topic.encode(), b"\x00", value))


class MessageSigner:
    """Signs messages with the gateway's Ed25519 message signing key."""

    __slots__ = ("_key", "_key_id", "is_development", "key_id", "public_key")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)
        self._key_id = self.key_id.encode()
        self.is_development = self.key_id == _development_key_id()
        """True for the key shipped in ``config/``: anyone can forge its signatures."""

    @classmethod
    def load(cls, source: KeySource | None = None) -> MessageSigner:
        """A signer for the key in ``source`` (a PEM path or PEM text); None: the development
        key, with a warning."""
        path = DEV_MESSAGE_SIGNING_KEY_PATH if source is None else source
        signer = cls(load_private_key(path, SigningKeyError))
        if signer.is_development:
            log.warning(
                "messages to departments are signed with the DEVELOPMENT key %s (key id %s): "
                "anyone can forge them; set GATEWAY_MESSAGE_SIGNING_KEY in production",
                DEV_MESSAGE_SIGNING_KEY_PATH.name,
                signer.key_id,
            )
        return signer

    def headers(self, topic: str, value: bytes) -> Headers:
        """The headers that carry the signature of ``value`` sent to ``topic``."""
        signature = self._key.sign(signed_bytes(topic, value))
        return [(SIGNATURE_HEADER, signature), (KEY_ID_HEADER, self._key_id)]


class MessageVerifier:
    """Checks the gateway's signature on a received message."""

    __slots__ = ("_key", "key_id")

    def __init__(self, public_key: Ed25519PublicKey | KeySource | None = None) -> None:
        """``public_key``: the gateway's (a key, a PEM path or PEM text); None: the one shipped
        in ``config/``."""
        source = MESSAGE_PUBLIC_KEY_PATH if public_key is None else public_key
        self._key = load_public_key(source, SigningKeyError)
        self.key_id = key_id(self._key)

    def problem(
        self, topic: str, value: bytes | None, headers: Iterable[tuple[str, bytes]] | None
    ) -> str | None:
        """Why the message received on ``topic`` is not the gateway's, or None if it is."""
        found = dict(headers or ())
        signature = found.get(SIGNATURE_HEADER)
        if signature is None:
            return "unsigned: no gateway signature"
        signer = (found.get(KEY_ID_HEADER) or b"").decode(errors="replace")
        if signer != self.key_id:
            return f"signed with key {signer or '(none named)'}, not the gateway's {self.key_id}"
        try:
            self._key.verify(signature, signed_bytes(topic, value or b""))
        except (InvalidSignature, TypeError):
            return "signature does not verify: forged, altered, or meant for another topic"
        return None


@functools.cache
def _development_key_id() -> str | None:
    try:
        return key_id(load_private_key(DEV_MESSAGE_SIGNING_KEY_PATH, SigningKeyError).public_key())
    except SigningKeyError:
        return None
