"""Load and compile a policy directory the way the tools need it."""

from __future__ import annotations

from pathlib import Path

from gateway.policy.compiler import CompiledPolicy, compile_policies
from gateway.policy.loader import load_policies

__all__ = ["TOOLS_PSEUDONYM_SECRET", "load_compiled"]

TOOLS_PSEUDONYM_SECRET = b"policy-tools: decisions read field names, never values"
"""The tools decide and compare, and never transform a value, so any pseudonym secret serves;
this one lets agreements that pseudonymise a field compile without the gateway's own secret."""


def load_compiled(directory: Path) -> CompiledPolicy:
    """Load and compile ``directory``; raises :class:`~gateway.errors.PolicyLoadError`."""
    return compile_policies(load_policies(Path(directory)), pseudonym_secret=TOOLS_PSEUDONYM_SECRET)
