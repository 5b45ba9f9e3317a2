"""Approval tokens: proof that the gateway approved a request for one responder.

The gateway signs the routed request's context with a key only it holds (HMAC-SHA256). A provider
echoes the context and the token in its response; the gateway recomputes the MAC. So a provider
can neither answer a request it was not sent, nor change the purpose or widen the fields it may
return, nor answer as another department.
"""

from __future__ import annotations

import binascii
import hmac
from collections.abc import Sequence
from datetime import datetime

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.envelope.mac import HmacSha256

__all__ = ["TokenSigner"]

_SEP = b"\x1f"
_URLSAFE = bytes.maketrans(b"+/", b"-_")
"""Base64's alphabet to its URL-safe one (``base64.urlsafe_b64encode``, in one call less)."""


class TokenSigner:
    """Issues and verifies approval tokens with one secret key."""

    __slots__ = ("_key", "_last", "_mac")

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("token secret must be at least 16 bytes")
        self._key = secret
        self._mac = HmacSha256(secret)
        self._last: tuple[datetime | None, bytes] = (None, b"")
        """The last time a token was issued at, and its milliseconds as signed: a batch's
        tokens all carry the batch's one ``now``."""

    def derive_key(self, label: bytes) -> bytes:
        """A 32-byte key for another purpose, derived from the token secret (HKDF-SHA256 with
        ``label`` as its info): independent of the token key and of every other label's key."""
        return HKDF(algorithm=SHA256(), length=32, salt=None, info=label).derive(self._key)

    def issue(
        self,
        *,
        request_id: str,
        requester: str,
        provider: str,
        agreement_id: str,
        purpose: str,
        wanted: Sequence[str],
        issued_at: datetime,
    ) -> str:
        context = self.context(
            requester=requester,
            provider=provider,
            agreement_id=agreement_id,
            purpose=purpose,
            wanted=wanted,
        )
        return self.issue_in(context, request_id, issued_at)

    @staticmethod
    def context(
        *, requester: str, provider: str, agreement_id: str, purpose: str, wanted: Sequence[str]
    ) -> bytes:
        """The part of a token's message that one class of decisions shares: what
        :meth:`issue_in` signs between the request id and the time."""
        return _SEP.join(
            (
                requester.encode(),
                provider.encode(),
                agreement_id.encode(),
                purpose.encode(),
                "\x1e".join(wanted).encode(),
            )
        )

    def issue_in(self, context: bytes, request_id: str, issued_at: datetime) -> str:
        """The token of ``request_id`` issued at ``issued_at`` in ``context`` (:meth:`context`)."""
        last_at, millis = self._last
        if issued_at is not last_at:
            millis = str(int(issued_at.timestamp() * 1000)).encode()
            self._last = (issued_at, millis)
        message = b"".join((request_id.encode(), _SEP, context, _SEP, millis))
        digest = self._mac.digest(message)
        return binascii.b2a_base64(digest, newline=False).translate(_URLSAFE).rstrip(b"=").decode()

    def verify(
        self,
        token: str,
        *,
        request_id: str,
        requester: str,
        provider: str,
        agreement_id: str,
        purpose: str,
        wanted: Sequence[str],
        issued_at: datetime,
    ) -> bool:
        expected = self.issue(
            request_id=request_id,
            requester=requester,
            provider=provider,
            agreement_id=agreement_id,
            purpose=purpose,
            wanted=wanted,
            issued_at=issued_at,
        )
        return hmac.compare_digest(expected, token)

    def verify_in(self, context: bytes, token: str, request_id: str, issued_at: datetime) -> bool:
        """:meth:`verify` for a token of ``context`` (:meth:`context`)."""
        return hmac.compare_digest(self.issue_in(context, request_id, issued_at), token)
