"""A Merkle tree over one batch of messages, so that one signature covers them all.

Leaves are ``SHA-256(0x00 || leaf bytes)`` and inner nodes ``SHA-256(0x01 || left || right)``
(the prefixes keep a leaf from passing for a node). Each level pairs its nodes from the left; an
odd one out at the end of a level moves up unchanged. A message's proof is its leaf index, the
tree's size and the sibling hashes on its way to the root: with them and the message alone, a
reader recomputes the root the signature covers.

Where ``pip install`` built it, the tree and the proofs of a batch are one C call
(:mod:`gateway._hashes`, about a third of the time); :func:`python_proofs` stays the fallback and
the reference (also with ``GATEWAY_PURE_PYTHON=1``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from hashlib import sha256

from gateway import extensions
from gateway.envelope.digests import prefixed_sha256

__all__ = ["AVAILABLE", "LEAF_PREFIX", "leaf_hash", "proofs", "python_proofs", "root_of"]

LEAF_PREFIX = b"\x00"
"""What a leaf's bytes are prefixed with before hashing."""
_NODE_HASH = prefixed_sha256(b"\x01")


def leaf_hash(data: bytes) -> bytes:
    return sha256(LEAF_PREFIX + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return _NODE_HASH.digest(left + right)


_c_proofs: Callable[[list[bytes]], tuple[bytes, list[bytes]]] | None
try:
    from gateway._hashes import merkle_proofs as _c_proofs
except ImportError:  # not built (see setup.py)
    _c_proofs = None

AVAILABLE = _c_proofs is not None and extensions.wanted()
"""Whether :func:`proofs` is the C one."""


def proofs(leaves: Sequence[bytes]) -> tuple[bytes, list[bytes]]:
    """The root of the tree over ``leaves`` (32-byte leaf hashes, at least one) and each leaf's
    path: its siblings' hashes from the bottom level up, concatenated."""
    if AVAILABLE:
        assert _c_proofs is not None
        return _c_proofs(leaves if type(leaves) is list else list(leaves))
    return python_proofs(leaves)


def python_proofs(leaves: Sequence[bytes]) -> tuple[bytes, list[bytes]]:
    """:func:`proofs` in Python.

    Paths are built from the top down: a node's path is its sibling's hash (if it has one)
    followed by its parent's path, so each level costs one concatenation per node."""
    if not leaves:
        raise ValueError("a tree needs at least one leaf")
    levels = [list(leaves)]
    while len(level := levels[-1]) > 1:
        above = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            above.append(level[-1])
        levels.append(above)
    paths = [b""]
    for level in reversed(levels[:-1]):
        width, parents = len(level), paths
        paths = [
            level[i ^ 1] + parents[i >> 1] if i ^ 1 < width else parents[i >> 1]
            for i in range(width)
        ]
    return levels[-1][0], paths


def root_of(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes | None:
    """The root that ``leaf`` at ``index`` of a tree of ``size`` leaves reaches by ``path``;
    None if the path does not fit that place (too short, too long, an index out of range)."""
    if not 0 <= index < size:
        return None
    node, at, width, steps = leaf, index, size, iter(path)
    while width > 1:
        sibling = at ^ 1
        if sibling < width:
            other = next(steps, None)
            if other is None:
                return None
            node = _node(other, node) if at & 1 else _node(node, other)
        at, width = at // 2, (width + 1) // 2
    if next(steps, None) is not None:
        return None
    return node
