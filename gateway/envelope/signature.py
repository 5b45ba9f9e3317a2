"""Gateway signatures on what departments receive from it: routed requests and replies.

What is signed for one message is :func:`signed_bytes`: a format tag, the destination topic and
the exact single-object Avro bytes. The gateway signs a whole batch's messages at once: they are
the leaves of a Merkle tree (:mod:`gateway.envelope.merkle`), and its Ed25519 message signing key
(``GATEWAY_MESSAGE_SIGNING_KEY``) signs the tree's root and size. Each message carries, in Kafka
headers, that signature (``dx-signature``), the key's id (``dx-key-id``) and its proof
(``dx-proof``: its leaf index and the tree's size, four bytes each, big-endian, then the sibling
hashes on its way up), so the payload stays plain Avro for any reader. A department verifies one
message with the gateway's public key alone, no shared secret: a message written to its topic by
anyone else does not verify, nor does a genuine one copied from another department's topic, nor
one given another message's proof.

One signature per batch rather than per message: an Ed25519 signature costs about 30 us here,
the tree about 2 us per message, and a verifier that has checked one signature of a batch checks
the rest of its messages by hashing alone.

The development key pair ships in ``config/`` (``message-signing-dev.key``, public half
``message-signing.pub``); its private half is public knowledge, so production sets its own key
and gives departments the public half.
"""

from __future__ import annotations

import functools
import logging
import struct
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.envelope.digests import PrefixedSha256, prefixed_sha256
from gateway.envelope.merkle import LEAF_PREFIX, leaf_hash, proofs, root_of
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
PROOF_HEADER = "dx-proof"
_TAG = b"dx.gateway.SignedMessage/2\x00"
_ROOT_TAG = b"dx.gateway.SignedBatch/2\x00"
_PLACE = struct.Struct(">II")
"""A proof's leaf index and tree size."""
_HASH = 32
_REMEMBERED = 64
_TOPICS_KEPT = 1024
"""Destination topics whose leaf-hash prefix a signer keeps hashed."""
"""Signatures a verifier remembers having checked (with the root and size they cover)."""

Headers = list[tuple[str, bytes]]
"""Kafka headers as aiokafka's producer takes them."""


def signed_bytes(topic: str, value: bytes) -> bytes:
    """What a signature covers: the message's bytes and where they were sent (topic names cannot
    hold the NUL byte that separates them)."""
    return b"".join((_TAG, topic.encode(), b"\x00", value))


def _signed_root(size: int, root: bytes) -> bytes:
    return b"".join((_ROOT_TAG, size.to_bytes(4, "big"), root))


class MessageSigner:
    """Signs messages with the gateway's Ed25519 message signing key."""

    __slots__ = ("_key", "_key_id", "_starts", "is_development", "key_id", "public_key")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self._starts: dict[str, PrefixedSha256] = {}
        """Per destination topic, the hash of a leaf's bytes up to the message's own: the
        leaf prefix, :func:`signed_bytes`'s tag, the topic and its separator."""
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
        """The headers that carry the signature of ``value`` sent to ``topic`` alone."""
        return self.sign_batch([(topic, value)])[0]

    def sign_batch(self, messages: Sequence[tuple[str, bytes]]) -> list[Headers]:
        """The headers of each of ``messages`` (``(topic, value)``), under one signature."""
        if not messages:
            return []
        signature, key, proofs_ = self.signed_batch(messages)
        return [[signature, key, proof] for proof in proofs_]

    def signed_batch(
        self, messages: Sequence[tuple[str, bytes]]
    ) -> tuple[tuple[str, bytes], tuple[str, bytes], list[tuple[str, bytes]]]:
        """What :meth:`sign_batch` gives, as the signature and key id headers every message
        shares and each message's proof header (at least one message)."""
        root, paths = proofs(self._leaves(messages))
        size = len(messages)
        signature = self._key.sign(_signed_root(size, root))
        place = _PLACE.pack
        return (
            (SIGNATURE_HEADER, signature),
            (KEY_ID_HEADER, self._key_id),
            [(PROOF_HEADER, place(index, size) + path) for index, path in enumerate(paths)],
        )

    def _leaves(self, messages: Sequence[tuple[str, bytes]]) -> list[bytes]:
        """``leaf_hash(signed_bytes(topic, value))`` of each message, hashing on from its
        topic's hashed prefix rather than joining the prefix to the value."""
        starts, leaves = self._starts, []
        for topic, value in messages:
            start = starts.get(topic)
            if start is None:
                if len(starts) >= _TOPICS_KEPT:
                    starts.clear()
                start = starts[topic] = prefixed_sha256(LEAF_PREFIX + signed_bytes(topic, b""))
            leaves.append(start.digest(value))
        return leaves


class MessageVerifier:
    """Checks the gateway's signature on a received message."""

    __slots__ = ("_key", "_verified", "key_id")

    def __init__(self, public_key: Ed25519PublicKey | KeySource | None = None) -> None:
        """``public_key``: the gateway's (a key, a PEM path or PEM text); None: the one shipped
        in ``config/``."""
        source = MESSAGE_PUBLIC_KEY_PATH if public_key is None else public_key
        self._key = load_public_key(source, SigningKeyError)
        self.key_id = key_id(self._key)
        self._verified: OrderedDict[bytes, bytes] = OrderedDict()
        """Signatures checked lately, with the signed root they verified over."""

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
        proof = found.get(PROOF_HEADER) or b""
        if len(proof) < _PLACE.size or (len(proof) - _PLACE.size) % _HASH:
            return "signature does not verify: no proof of the message's place in its batch"
        index, size = _PLACE.unpack_from(proof)
        path = [proof[i : i + _HASH] for i in range(_PLACE.size, len(proof), _HASH)]
        root = root_of(leaf_hash(signed_bytes(topic, value or b"")), index, size, path)
        if root is None:
            return "signature does not verify: its proof does not fit the batch it names"
        signed = _signed_root(size, root)
        if self._verified.get(signature) == signed:
            self._verified.move_to_end(signature)
            return None
        try:
            self._key.verify(signature, signed)
        except (InvalidSignature, TypeError):
            return "signature does not verify: forged, altered, or meant for another topic"
        self._verified[signature] = signed
        if len(self._verified) > _REMEMBERED:
            self._verified.popitem(last=False)
        return None


@functools.cache
def _development_key_id() -> str | None:
    try:
        return key_id(load_private_key(DEV_MESSAGE_SIGNING_KEY_PATH, SigningKeyError).public_key())
    except SigningKeyError:
        return None
