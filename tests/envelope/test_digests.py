"""Prefixed SHA-256, in C and in Python, is ``hashlib.sha256(prefix + message)`` for any bytes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.envelope import digests
from gateway.envelope.digests import PythonPrefixedSha256, prefixed_sha256


@given(prefix=st.binary(max_size=200), messages=st.lists(st.binary(max_size=300), max_size=4))
def test_each_message_hashes_as_the_prefix_and_it_joined(
    prefix: bytes, messages: list[bytes]
) -> None:
    """Prefixes shorter, equal to and longer than a block; one hasher, several messages."""
    for hasher in (prefixed_sha256(prefix), PythonPrefixedSha256(prefix)):
        for message in messages:
            assert hasher.digest(message) == hashlib.sha256(prefix + message).digest()


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_any_bytes_like_message_hashes_as_its_bytes(kind: type) -> None:
    hasher = prefixed_sha256(b"\x00tag")
    assert hasher.digest(kind(b"message")) == hasher.digest(b"message")


def test_the_c_hash_is_built_and_used_here() -> None:
    """The machines this project targets have OpenSSL's headers (the Makefile installs them):
    ``pip install`` builds the C hash there, and the gateway uses it."""
    assert digests.AVAILABLE, "gateway._hashes was not built (see setup.py)"
    assert type(prefixed_sha256(b"")).__module__ == "gateway._hashes"


def test_without_the_c_hash_the_gateway_hashes_with_hashlib() -> None:
    script = (
        "from gateway.envelope.digests import AVAILABLE, prefixed_sha256\n"
        "print(AVAILABLE, type(prefixed_sha256(b'')).__name__)\n"
    )
    env = {**os.environ, "GATEWAY_PURE_PYTHON": "1"}
    shown = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert shown.stdout.split() == ["False", "PythonPrefixedSha256"]
