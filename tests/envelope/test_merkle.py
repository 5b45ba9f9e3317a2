"""A batch's Merkle tree: its root is the one its definition gives, and every leaf's proof
leads from that leaf, and from no other, to the root."""

from __future__ import annotations

from hashlib import sha256

import pytest

from gateway.envelope.merkle import leaf_hash, proofs, root_of


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


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 100])
def test_every_proof_leads_from_its_leaf_to_the_root_of_the_definition(size: int) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]

    root, paths = proofs(leaves)

    assert root == _by_definition(leaves)
    assert len(paths) == size
    for index, path in enumerate(paths):
        assert root_of(leaves[index], index, size, _hashes(path)) == root
        other = leaves[(index + 1) % size]
        if size > 1:
            assert root_of(other, index, size, _hashes(path)) != root


def test_a_tree_needs_a_leaf() -> None:
    with pytest.raises(ValueError):
        proofs([])
