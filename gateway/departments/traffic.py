"""Requester traffic through a running gateway: :func:`run_traffic` sends a plan of
:mod:`gateway.synthetic.traffic` at a steady rate through one :class:`DepartmentClient` per
requesting department and counts what came back (:class:`TrafficStats`).

``gateway traffic --bootstrap HOST:PORT --rate 50 --count 500`` prints the counts.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from gateway.departments.client import DepartmentClient, ExchangeTimeout
from gateway.envelope.codec import Codec
from gateway.envelope.models import Reply, ReplyOutcome
from gateway.synthetic.datasets import DEFAULT_SEED, DEFAULT_SIZE
from gateway.synthetic.traffic import PlannedRequest, plan_requests
from gateway.transport.topics import TopicNames

__all__ = ["TrafficStats", "run_traffic"]

_DEFAULT_TOPICS = TopicNames()


@dataclass(slots=True)
class TrafficStats:
    """What a traffic run sent and what came back."""

    sent: int = 0
    timeouts: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    """Replies by outcome (APPROVED, REDACTED, DENIED), plus TIMEOUT."""
    statuses: Counter[str] = field(default_factory=Counter)
    """Answered replies by provider status (FOUND, NOT_FOUND, ERROR)."""
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    """Outcomes per :class:`RequestKind`."""
    unexpected: int = 0
    """Replies whose denial (or not) differs from what the plan expected."""
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def replied(self) -> int:
        return self.sent - self.timeouts

    def percentile_ms(self, q: float) -> float:
        """Reply latency at quantile ``q`` (0-1), 0.0 if nothing came back."""
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)]

    def record(self, planned: PlannedRequest, result: Reply | ExchangeTimeout, ms: float) -> None:
        per_kind = self.by_kind.setdefault(planned.kind.value, Counter())
        if isinstance(result, ExchangeTimeout):
            self.timeouts += 1
            self.outcomes["TIMEOUT"] += 1
            per_kind["TIMEOUT"] += 1
            return
        self.latencies_ms.append(ms)
        self.outcomes[result.outcome.value] += 1
        per_kind[result.outcome.value] += 1
        if result.status is not None:
            self.statuses[result.status.value] += 1
        if (result.outcome is ReplyOutcome.DENIED) != planned.expect_denied:
            self.unexpected += 1

    def summary(self) -> dict[str, Any]:
        """A JSON-ready digest."""
        return {
            "sent": self.sent,
            "replied": self.replied,
            "timeouts": self.timeouts,
            "outcomes": dict(self.outcomes),
            "statuses": dict(self.statuses),
            "by_kind": {kind: dict(counts) for kind, counts in sorted(self.by_kind.items())},
            "unexpected": self.unexpected,
            "latency_ms": {
                "p50": round(self.percentile_ms(0.50), 1),
                "p95": round(self.percentile_ms(0.95), 1),
                "p99": round(self.percentile_ms(0.99), 1),
            },
            "elapsed_s": round(self.elapsed_s, 2),
            "rate_per_s": round(self.sent / self.elapsed_s, 1) if self.elapsed_s else 0.0,
        }


async def run_traffic(
    bootstrap: str,
    rate_per_s: float = 50.0,
    duration_s: float | None = None,
    count: int | None = None,
    seed: int = DEFAULT_SEED,
    *,
    topics: TopicNames = _DEFAULT_TOPICS,
    reply_timeout_s: float = 10.0,
    dataset_size: int = DEFAULT_SIZE,
    dataset_seed: int = DEFAULT_SEED,
    codec: Codec | None = None,
) -> TrafficStats:
    """Send ``count`` planned requests (or ``rate_per_s * duration_s``) at ``rate_per_s``.

    One :class:`DepartmentClient` per requesting department; every request is awaited up to
    ``reply_timeout_s``. Returns when every request is answered or timed out.
    """
    if rate_per_s <= 0:
        raise ValueError(f"rate_per_s must be positive, not {rate_per_s}")
    if count is None:
        if duration_s is None:
            raise ValueError("give duration_s or count")
        count = int(rate_per_s * duration_s)
    plan = plan_requests(count, seed, dataset_size=dataset_size, dataset_seed=dataset_seed)
    stats = TrafficStats()
    codec = codec or Codec.default()
    clients = {
        dept: DepartmentClient(dept, bootstrap, topics=topics, codec=codec)
        for dept in sorted({p.requester for p in plan})
    }
    try:
        for client in clients.values():
            await client.start()

        async def one(planned: PlannedRequest) -> None:
            client = clients[planned.requester]
            started = time.perf_counter()
            try:
                result: Reply | ExchangeTimeout = await client.request(
                    planned.provider,
                    planned.agreement_id,
                    planned.purpose,
                    planned.query,
                    planned.wanted,
                    timeout=reply_timeout_s,
                )
            except ExchangeTimeout as exc:
                result = exc
            stats.record(planned, result, (time.perf_counter() - started) * 1000)

        began = time.perf_counter()
        tasks: list[asyncio.Task[None]] = []
        for i, planned in enumerate(plan):
            delay = began + i / rate_per_s - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(planned)))
            stats.sent += 1
        await asyncio.gather(*tasks)
        stats.elapsed_s = time.perf_counter() - began
    finally:
        for client in clients.values():
            await client.stop()
    return stats
