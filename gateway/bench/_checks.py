"""Reading the topics back after a run: was every message delivered, and nothing lost?"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from gateway.bench._workload import Inputs
from gateway.bench.errors import BenchError
from gateway.envelope.codec import Codec
from gateway.envelope.models import Reply
from gateway.settings import DEFAULT_DEPARTMENTS
from gateway.transport.read_back import read_to_ends
from gateway.transport.topics import READ_COMMITTED, TopicNames

__all__ = ["deleted", "verify", "watermarks"]

_READ_BACK_S = 60.0


async def watermarks(
    bootstrap: str, names: Sequence[str], partitions: int
) -> tuple[dict[str, dict[int, int]], dict[str, dict[int, int]]]:
    """Low and high watermarks of every partition of ``names``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level=READ_COMMITTED
    )
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in names for p in range(partitions)]
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    low: dict[str, dict[int, int]] = {t: {} for t in names}
    high: dict[str, dict[int, int]] = {t: {} for t in names}
    for tp in tps:
        low[tp.topic][tp.partition] = starts[tp]
        high[tp.topic][tp.partition] = ends[tp]
    return low, high


def deleted(low: dict[str, dict[int, int]], names: Iterable[str]) -> list[str]:
    """A problem for every topic whose low watermark moved: retention deleted records."""
    return [
        f"the embedded broker deleted the first {sum(low[t].values())} records of {t} "
        "(about 5 MB kept per partition): use more --partitions"
        for t in names
        if any(low[t].values())
    ]


async def _read_all(bootstrap: str, names: Sequence[str], partitions: int) -> list[Any]:
    """Every record of ``names`` from the beginning to the current end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=READ_COMMITTED,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        tps = [TopicPartition(t, p) for t in names for p in range(partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        async with asyncio.timeout(_READ_BACK_S):
            async for _, part in read_to_ends(consumer, {tp: ends[tp] for tp in remaining}):
                records += part
    except TimeoutError:
        names_read = ", ".join(names)
        raise BenchError(f"could not read back {names_read} within {_READ_BACK_S:g}s") from None
    finally:
        await consumer.stop()
    return records


async def verify(
    bootstrap: str,
    topics: TopicNames,
    partitions: int,
    inputs: Inputs,
    gateway: dict[str, Any],
    latency: dict[str, Any],
    totals: dict[str, Any],
    codec: Codec,
) -> tuple[dict[str, Any], list[str]]:
    """Counts read back from the gateway's topics, and every way they fail to add up."""
    depts = list(DEFAULT_DEPARTMENTS)
    per_kind = {
        kind: [f"{topics.prefix}.{kind}.{d}" for d in depts]
        for kind in ("requests", "inbox", "responses", "replies")
    }
    names = [t for group in per_kind.values() for t in group] + [topics.audit, topics.deadletter]
    low, high = await watermarks(bootstrap, names, partitions)

    def total(kind: str) -> int:
        return sum(sum(high[t].values()) for t in per_kind[kind])

    replies = Counter(
        codec.decode(r.value, Reply).request_id
        for r in await _read_all(bootstrap, per_kind["replies"], partitions)
    )
    # Decisions only: the audit topic may also carry records of other schemas (checkpoints).
    decision = codec.registry.get("dx.gateway.AuditRecord").header
    audit_log = await _read_all(bootstrap, [topics.audit], partitions)
    audit = sum(1 for r in audit_log if r.value[: len(decision)] == decision)
    checks = {
        "requests": total("requests"),
        "routed": total("inbox"),
        "responses": total("responses"),
        "replies": sum(replies.values()),
        "audit_records": audit,
        "audit_other": len(audit_log) - audit,
        "dead_letters": sum(high[topics.deadletter].values()),
        "gateway_records": totals["gateway_records"],
    }
    n = len(inputs.ids)
    problems = []
    missing = sum(1 for i in inputs.ids if i not in replies)
    if missing:
        problems.append(f"{missing} of {n} requests got no reply")
    if duplicated := sum(1 for count in replies.values() if count > 1):
        problems.append(f"{duplicated} requests got more than one reply")
    if checks["replies"] != n + latency["requests"] - latency["timeouts"]:
        problems.append(f"{checks['replies']} replies for {n + latency['requests']} requests")
    if latency["timeouts"]:
        problems.append(f"{latency['timeouts']} latency probes got no reply within 10 s")
    if checks["requests"] != n + latency["requests"]:
        problems.append(
            f"{checks['requests']} requests on the topics, {n} + {latency['requests']} sent"
        )
    if checks["routed"] != checks["responses"] or totals["answered"] != checks["routed"]:
        problems.append(
            f"{checks['routed']} requests routed, {totals['answered']} answered, "
            f"{checks['responses']} responses on the topics"
        )
    consumed = checks["requests"] + checks["responses"]
    if not audit == totals["gateway_records"] == consumed:
        problems.append(
            f"{audit} audit records for {totals['gateway_records']} records consumed by the "
            f"gateway, of {consumed} on its input topics"
        )
    if gateway["requests"] != n:
        problems.append(f"the throughput phase consumed {gateway['requests']} of {n} requests")
    if checks["dead_letters"]:
        problems.append(f"{checks['dead_letters']} dead letters")
    problems += deleted(low, names)
    return checks, problems
