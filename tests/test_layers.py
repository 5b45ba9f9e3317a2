"""The pure core (envelope, policy, redaction, exchange, audit and its read model) depends on no
edge: drawn from the imports in its source, no arrow leads from it to transport, the command
line, the console, the consumers or a Kafka client."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

GATEWAY = Path(__file__).parents[1] / "gateway"
CORE = ("envelope", "policy", "redaction", "exchange", "audit", "audit_store")
EDGES = (
    "gateway.transport",
    "gateway.embedded",
    "gateway.cli",
    "gateway.console",
    "gateway.service",
    "gateway.bench",
    "gateway.demo",
    "gateway.cluster",
    "gateway.testing",
    "consumers",
    "aiokafka",
    "faust",
    "confluent_kafka",
)


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


@pytest.mark.parametrize("package", CORE)
def test_the_core_imports_no_edge(package: str) -> None:
    arrows = [
        f"{path.relative_to(GATEWAY.parent)} -> {module}"
        for path in sorted((GATEWAY / package).rglob("*.py"))
        for module in _imports(path)
        if any(module == edge or module.startswith(f"{edge}.") for edge in EDGES)
    ]

    assert arrows == []
