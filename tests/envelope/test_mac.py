"""HMAC-SHA256 with precomputed pads gives exactly ``hmac.digest``'s bytes, and approval tokens
and subject keys keep their published form."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from gateway.audit.subject import SubjectKeyer
from gateway.envelope.mac import HmacSha256
from gateway.exchange.tokens import TokenSigner


@given(key=st.binary(max_size=200), messages=st.lists(st.binary(max_size=300), max_size=4))
def test_pads_give_the_standard_hmac_for_any_key_and_message(
    key: bytes, messages: list[bytes]
) -> None:
    """Keys shorter, equal to and longer than the block, reused for several messages."""
    mac = HmacSha256(key)
    for message in messages:
        assert mac.digest(message) == hmac.digest(key, message, "sha256")


def test_a_token_is_the_hmac_of_its_fields_joined_by_unit_separators() -> None:
    """The token layout departments' responses are checked against does not change."""
    secret = b"s" * 32
    at = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    token = TokenSigner(secret).issue(
        request_id="r-1",
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho",
        purpose="care",
        wanted=["a", "b.c"],
        issued_at=at,
    )
    message = b"r-1\x1fnhs\x1fho\x1fnhs-ho\x1fcare\x1fa\x1eb.c\x1f1714564800123"
    expected = base64.urlsafe_b64encode(hmac.digest(secret, message, "sha256")).rstrip(b"=")
    assert token == expected.decode()


def test_a_subject_key_is_the_truncated_hmac_of_the_normalised_identifier() -> None:
    """Subject keys in audit records written before stay findable."""
    secret = b"k" * 40
    expected = hmac.new(secret, b"nhs_number=9990001234", hashlib.sha256).hexdigest()[:32]
    assert SubjectKeyer(secret).key("nhs_number", " 999 000 1234 ") == expected
