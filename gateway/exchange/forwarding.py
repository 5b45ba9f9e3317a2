"""Authenticated forwarding of requests under capped purposes between gateway instances.

A :class:`~gateway.envelope.models.CappedRequest` says which department's topic carried a
request and where (topic, partition, offset); the instance that owns the cap counter decides the
request on that word. Anyone who can write to the capped topic could otherwise act as any
department, so the forwarding instance MACs the envelope and the receiving one checks the MAC
before it believes a word of it.

The key is derived from the approval-token secret (HKDF-SHA256, its own label) rather than
configured separately: the instances that must share it are exactly those that already share the
token secret (each verifies the tokens the others issue), so a second secret would only add a
way for instances to disagree, which would refuse every capped request. The label keeps the two
keys apart: a forward MAC is never a valid approval token or the other way round, and providers,
who see tokens, learn nothing about the forwarding key. Rotating the token secret rotates both.
"""

from __future__ import annotations

import hmac
import struct

from gateway.envelope.models import CappedRequest
from gateway.exchange.tokens import TokenSigner

__all__ = ["ForwardSigner"]

FORWARD_KEY_LABEL = b"dx.gateway/capped-forward-mac/v1"
"""The HKDF ``info`` the forwarding key is derived from the token secret with."""

_LENGTH = struct.Struct(">I")
_COORDINATE = struct.Struct(">qq")


class ForwardSigner:
    """MACs (HMAC-SHA256) capped-request envelopes and checks them on receipt."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("forwarding key must be at least 16 bytes")
        self._key = key

    @classmethod
    def for_tokens(cls, signer: TokenSigner) -> ForwardSigner:
        """The forwarding key of the gateway whose approval tokens ``signer`` issues."""
        return cls(signer.derive_key(FORWARD_KEY_LABEL))

    def sign(
        self,
        *,
        sender: str,
        input_topic: str,
        input_partition: int,
        input_offset: int,
        request: bytes,
    ) -> bytes:
        """The MAC over the forwarded request's bytes, its sender and its original coordinates."""
        message = b"".join(
            (
                _field(sender.encode()),
                _field(input_topic.encode()),
                _COORDINATE.pack(input_partition, input_offset),
                _field(request),
            )
        )
        return hmac.digest(self._key, message, "sha256")

    def verify(self, envelope: CappedRequest) -> bool:
        """Whether ``envelope`` is a forward made with this key, unchanged."""
        try:
            expected = self.sign(
                sender=envelope.sender,
                input_topic=envelope.input_topic,
                input_partition=envelope.input_partition,
                input_offset=envelope.input_offset,
                request=envelope.request,
            )
        except struct.error:  # coordinates no instance would write
            return False
        return hmac.compare_digest(expected, envelope.mac)


def _field(value: bytes) -> bytes:
    """A length-prefixed field, so no two different envelopes give the same MAC input."""
    return _LENGTH.pack(len(value)) + value
