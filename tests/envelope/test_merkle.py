"""A batch's Merkle tree: its root is the one its definition gives, and every leaf's proof
leads from that leaf, and from no other, to the root."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from hashlib import sha256

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.envelope import merkle
from gateway.envelope.merkle import leaf_hash, proofs, python_proofs, root_of

Proofs = Callable[[Sequence[bytes]], tuple[bytes, list[bytes]]]
BOTH = pytest.mark.parametrize("tree", [proofs, python_proofs], ids=["built", "python"])


def _by_definition(nodes: list[bytes]) -> bytes:
    """Pair each level from the left; an odd one out moves up unchanged."""
    while len(nodes) > 1:
        pairs = [
            sha256(b"\x01" + nodes[i] + nodes[i + 1]).digest() for i in range(0, len(nodes) - 1, 2)
        ]
        nodes = pairs + nodes[len(pairs) * 2 :]
    return nodes[0]


def _hashes(path: bytes) -> list[bytes]:
    return [path[i : i + 32] for i in range(0, len(path), 32)]


@BOTH
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 100])
def test_every_proof_leads_from_its_leaf_to_the_root_of_the_definition(
    tree: Proofs, size: int
) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]

    root, paths = tree(leaves)

    assert root == _by_definition(leaves)
    assert len(paths) == size
    for index, path in enumerate(paths):
        assert root_of(leaves[index], index, size, _hashes(path)) == root
        other = leaves[(index + 1) % size]
        if size > 1:
            assert root_of(other, index, size, _hashes(path)) != root


@BOTH
def test_a_tree_needs_a_leaf(tree: Proofs) -> None:
    with pytest.raises(ValueError):
        tree([])


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=700))
def test_the_c_tree_is_the_python_one(leaves: list[bytes]) -> None:
    """Root and every path byte for byte, for trees up to ten levels high."""
    assert proofs(leaves) == python_proofs(leaves)


def test_the_c_tree_refuses_a_leaf_that_is_not_a_hash() -> None:
    with pytest.raises(ValueError, match="leaf 1 is 5 bytes"):
        proofs([leaf_hash(b"a"), b"short"])


def test_the_c_tree_is_built_and_used_here() -> None:
    """As the C hashes are (see ``tests/envelope/test_digests.py``)."""
    assert merkle.AVAILABLE, "gateway._hashes was not built (see setup.py)"


def test_without_the_c_tree_the_python_one_is_used() -> None:
    script = "from gateway.envelope.merkle import AVAILABLE\nprint(AVAILABLE)\n"
    env = {**os.environ, "GATEWAY_PURE_PYTHON": "1"}
    shown = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert shown.stdout.split() == ["False"]
