"""Drawn from the imports in the source: the pure core (envelope, policy, redaction, exchange,
audit and its read model) depends on no edge (transport, the command line, the console, the
consumers or a Kafka client), and no part of the gateway depends on the consumers."""

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


def _dynamic_imports(path: Path) -> Iterator[str]:
    """Modules named by ``importlib.import_module("...")`` or ``__import__("...")``."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "__import__")
            )
        ):
            yield node.args[0].value


def test_the_gateway_never_imports_the_consumers() -> None:
    """Dependencies run one way: the department services in consumers/ are built on the gateway,
    which finds them only through an entry point; no gateway module imports consumers, at the top,
    inside a function or by name."""
    arrows = [
        f"{path.relative_to(GATEWAY.parent)} -> {module}"
        for path in sorted(GATEWAY.rglob("*.py"))
        for module in [*_imports(path), *_dynamic_imports(path)]
        if module == "consumers" or module.startswith("consumers.")
    ]

    assert arrows == []


CORE_STATE = ("audit_chain", "input_gaps", "cap_counters", "seen")
"""What the processor keeps and changes itself: the runner hands it bytes and offsets instead
(:mod:`gateway.exchange.ownership`)."""


def _is_processor(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "processor"
    return isinstance(node, ast.Attribute) and node.attr in ("processor", "_processor")


def _reaches_into_core(node: ast.AST) -> str | None:
    """What ``node`` does to the processor's state, if anything."""
    if isinstance(node, ast.Attribute) and node.attr in CORE_STATE:
        return f"uses .{node.attr}"
    if isinstance(node, ast.Attribute) and _is_processor(node.value) and node.attr[0] == "_":
        return f"uses processor.{node.attr}"
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign | ast.Delete):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
        setter = node.func.id in ("setattr", "delattr")
        if setter and _is_processor(node.args[0]):
            return f"calls {node.func.id} on the processor"
    for target in targets:
        if isinstance(target, ast.Attribute) and _is_processor(target.value):
            return f"sets processor.{target.attr}"
    return None


def test_transport_changes_the_core_only_through_the_processors_operations() -> None:
    """The runner and its keepers move bytes and offsets: they read Kafka and hand what they read
    to the processor's operations (take over, give up, reseal, ...), and never touch its chains,
    gap expectations, volume counters or de-duplication memory, nor set its attributes."""
    found = [
        f"{path.relative_to(GATEWAY.parent)}:{node.lineno} {what}"
        for path in sorted((GATEWAY / "transport").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if (what := _reaches_into_core(node)) is not None
    ]

    assert found == []
