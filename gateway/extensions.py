"""Whether the gateway uses its C extensions where ``pip install`` built them (``setup.py``).

It does unless ``GATEWAY_PURE_PYTHON`` is set to anything but ``0``: then every kernel is its
pure-Python fallback, the reference the C code is tested against (the Avro reader and template
writer, the prefixed SHA-256, the Merkle tree, murmur2).
"""

from __future__ import annotations

import os

__all__ = ["wanted"]


def wanted() -> bool:
    """False if ``GATEWAY_PURE_PYTHON`` asks for the pure-Python fallbacks."""
    return os.environ.get("GATEWAY_PURE_PYTHON", "") in ("", "0")
