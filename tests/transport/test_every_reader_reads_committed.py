"""On Apache Kafka the gateway writes in transactions: a reader of its topics that does not read
committed would see records of aborted transactions (routed requests, replies, dead letters and
audit records that, as far as the exchange is concerned, never happened)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

NOT_GATEWAY_TOPICS = {
    # The pass-through baseline reads the benchmark's own input topic, which no gateway writes.
    "gateway/bench/worker.py",
}
READS_ONLY_END_OFFSETS = {
    # The audit export learns each partition's high watermark, to wait for commit markers.
    "gateway/transport/audit_log.py",
}


def _consumers_without_isolation() -> list[str]:
    found = []
    for path in sorted([*ROOT.glob("gateway/**/*.py"), *ROOT.glob("consumers/**/*.py")]):
        relative = path.relative_to(ROOT).as_posix()
        if relative in NOT_GATEWAY_TOPICS:
            continue
        for node in ast.walk(ast.parse(path.read_text(), relative)):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name != "AIOKafkaConsumer":
                continue
            levels = [k.value for k in node.keywords if k.arg == "isolation_level"]
            allowed = {"READ_COMMITTED"}
            if relative in READS_ONLY_END_OFFSETS:
                allowed.add("READ_UNCOMMITTED")  # stated, never by default
            if not any(getattr(v, "id", None) in allowed for v in levels):
                found.append(f"{relative}:{node.lineno}")
    return found


def test_every_consumer_of_gateway_topics_reads_committed() -> None:
    assert _consumers_without_isolation() == []


def test_the_check_finds_consumers_at_all() -> None:
    """Guards the test above against walking no files or matching no calls."""
    calls = 0
    for path in ROOT.glob("gateway/transport/*.py"):
        calls += path.read_text().count("AIOKafkaConsumer(")
    assert calls >= 4
