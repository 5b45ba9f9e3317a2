"""Gateway signatures on messages to departments: what they cover, and what fails to verify."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from gateway.envelope.models import ExchangeRequest
from gateway.envelope.signature import (
    KEY_ID_HEADER,
    MESSAGE_PUBLIC_KEY_PATH,
    PROOF_HEADER,
    SIGNATURE_HEADER,
    MessageSigner,
    MessageVerifier,
    signed_bytes,
)
from gateway.errors import ConfigError, SigningKeyError
from gateway.exchange.messages import InputMessage
from gateway.service import build_processor
from gateway.settings import GatewaySettings

TOPIC = "dx.replies.nhs"
VALUE = b"\xc3\x01" + b"\x00" * 8 + b"avro body"


@pytest.fixture(scope="module")
def signer() -> MessageSigner:
    return MessageSigner(Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def verifier(signer: MessageSigner) -> MessageVerifier:
    return MessageVerifier(signer.public_key)


def test_the_signature_covers_a_format_tag_the_topic_and_the_exact_bytes() -> None:
    assert signed_bytes(TOPIC, VALUE) == b"dx.gateway.SignedMessage/2\x00dx.replies.nhs\x00" + VALUE


def test_a_signed_message_verifies_and_its_headers_name_the_key(
    signer: MessageSigner, verifier: MessageVerifier
) -> None:
    headers = signer.headers(TOPIC, VALUE)

    assert [name for name, _ in headers] == [SIGNATURE_HEADER, KEY_ID_HEADER, PROOF_HEADER]
    assert dict(headers)[KEY_ID_HEADER] == signer.key_id.encode()
    assert verifier.problem(TOPIC, VALUE, headers) is None


def test_altered_bytes_another_topic_or_no_signature_do_not_verify(
    signer: MessageSigner, verifier: MessageVerifier
) -> None:
    headers = signer.headers(TOPIC, VALUE)

    assert "does not verify" in str(verifier.problem(TOPIC, VALUE[:-1] + b"X", headers))
    assert "does not verify" in str(verifier.problem("dx.replies.dfe", VALUE, headers))
    assert "unsigned" in str(verifier.problem(TOPIC, VALUE, []))
    assert "unsigned" in str(verifier.problem(TOPIC, VALUE, None))


def test_a_signature_by_another_key_does_not_verify_even_when_it_names_the_gateways_key(
    signer: MessageSigner, verifier: MessageVerifier
) -> None:
    other = MessageSigner(Ed25519PrivateKey.generate())
    own_name = other.headers(TOPIC, VALUE)
    borrowed_name = [(n, signer.key_id.encode() if n == KEY_ID_HEADER else v) for n, v in own_name]

    assert f"not the gateway's {signer.key_id}" in str(verifier.problem(TOPIC, VALUE, own_name))
    assert "does not verify" in str(verifier.problem(TOPIC, VALUE, borrowed_name))


BATCH = [
    (f"dx.{kind}.{dept}", VALUE + bytes([i]))
    for i, (kind, dept) in enumerate([("replies", "nhs"), ("inbox", "ho"), ("replies", "dfe")] * 5)
]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 15])
def test_every_message_of_a_batch_verifies_alone_under_the_batchs_one_signature(
    signer: MessageSigner, size: int
) -> None:
    batch = BATCH[:size]

    signed = signer.sign_batch(batch)

    assert len({dict(h)[SIGNATURE_HEADER] for h in signed}) == 1
    for (topic, value), headers in zip(batch, signed, strict=True):
        assert MessageVerifier(signer.public_key).problem(topic, value, headers) is None


def test_batches_to_more_topics_than_a_signer_keeps_prefixes_for_verify_each_time() -> None:
    signer = MessageSigner(Ed25519PrivateKey.generate())
    verifier = MessageVerifier(signer.public_key)
    batch = [(f"dx.replies.dept{i}", VALUE + bytes([i % 256])) for i in range(1500)]

    for _ in range(2):  # the second time, over prefixes hashed (and dropped) the first
        signed = signer.sign_batch(batch)

        assert all(
            verifier.problem(topic, value, headers) is None
            for (topic, value), headers in zip(batch, signed, strict=True)
        )
        assert verifier.problem(batch[1][0], batch[0][1], signed[0]) is not None


def test_a_batch_message_altered_moved_or_given_another_messages_proof_does_not_verify(
    signer: MessageSigner, verifier: MessageVerifier
) -> None:
    signed = signer.sign_batch(BATCH)
    (topic, value), headers = BATCH[4], signed[4]
    proof = dict(headers)[PROOF_HEADER]

    def with_proof(replaced: bytes) -> list[tuple[str, bytes]]:
        return [(n, replaced if n == PROOF_HEADER else v) for n, v in headers]

    assert verifier.problem(topic, value, headers) is None
    assert "does not verify" in str(verifier.problem(topic, value + b"X", headers))
    assert "does not verify" in str(verifier.problem("dx.inbox.dwp", value, headers))
    assert "does not verify" in str(verifier.problem(topic, value, signed[5]))  # 5's proof
    assert "does not verify" in str(verifier.problem(topic, value, with_proof(proof[:-32])))
    assert "does not verify" in str(verifier.problem(topic, value, with_proof(proof + proof[-32:])))
    assert "does not verify" in str(verifier.problem(topic, value, with_proof(proof[:7])))
    other_place = (5).to_bytes(4, "big") + proof[4:]
    assert "does not verify" in str(verifier.problem(topic, value, with_proof(other_place)))
    smaller = proof[:4] + (14).to_bytes(4, "big") + proof[8:]
    assert "does not verify" in str(verifier.problem(topic, value, with_proof(smaller)))
    assert "does not verify" in str(verifier.problem(topic, value, headers[:2]))  # no proof


def test_a_signature_checked_once_is_not_taken_for_another_root(
    signer: MessageSigner, verifier: MessageVerifier
) -> None:
    """A verifier remembers signatures it checked only with the root they cover: a genuine
    signature of one batch does not vouch for a message of another."""
    first, second = signer.sign_batch(BATCH[:4]), signer.sign_batch(BATCH[4:8])
    (topic, value), headers = BATCH[5], second[1]
    borrowed = [(n, dict(first[0])[n] if n == SIGNATURE_HEADER else v) for n, v in headers]

    assert verifier.problem(*BATCH[0], first[0]) is None

    assert "does not verify" in str(verifier.problem(topic, value, borrowed))
    assert verifier.problem(topic, value, headers) is None


def test_by_default_the_development_key_signs_with_a_warning_and_the_shipped_key_verifies(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.envelope"):
        signer = MessageSigner.load()

    assert signer.is_development
    assert "DEVELOPMENT key" in caplog.text
    assert MessageVerifier().problem(TOPIC, VALUE, signer.headers(TOPIC, VALUE)) is None
    assert MessageVerifier(MESSAGE_PUBLIC_KEY_PATH).key_id == signer.key_id


def test_the_gateway_signs_with_the_key_its_settings_name() -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    processor = build_processor(GatewaySettings(message_signing_key=pem))
    request = ExchangeRequest(
        request_id="signed-1",
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-status-check",
        purpose="overseas-visitor-charging",
        query={"person_id": "HO-000042"},
        sent_at=datetime.now(UTC),
    )
    message = InputMessage("dx.requests.nhs", 0, 0, None, processor.codec.encode(request))

    (routed,) = processor.process_batch([message], datetime.now(UTC)).routed

    assert routed.topic == "dx.inbox.ho"
    assert (
        MessageVerifier(key.public_key()).problem(routed.topic, routed.value, routed.headers)
        is None
    )
    assert MessageVerifier().problem(routed.topic, routed.value, routed.headers) is not None


def test_an_unusable_key_is_a_configuration_error_that_never_shows_the_key() -> None:
    with pytest.raises(SigningKeyError) as caught:
        MessageSigner.load("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n")

    assert isinstance(caught.value, ConfigError)
    assert "c2VjcmV0" not in str(caught.value)
