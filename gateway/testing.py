"""Helpers for testing code that talks to the gateway: isolated topics and a runner on them.

Used by this project's tests and meant for departments' own tests against the embedded broker.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from gateway.service import build_processor
from gateway.settings import DEFAULT_DEPARTMENTS, GatewaySettings
from gateway.transport.broker import EMBEDDED_SESSION_TIMEOUT_MS, EmbeddedBroker
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

__all__ = ["fresh_topics", "gateway_runner"]


def fresh_topics(
    broker: EmbeddedBroker,
    partitions: int = 4,
    *,
    departments: Sequence[str] = DEFAULT_DEPARTMENTS,
) -> TopicNames:
    """Gateway topics under a new random prefix, so tests never read each other's messages."""
    topics = TopicNames(f"t{uuid.uuid4().hex[:10]}")
    broker.create_topics(topics.all_topics(list(departments)), partitions)
    return topics


def gateway_runner(
    bootstrap: str,
    topics: TopicNames,
    *,
    group: str | None = None,
    instance: str = "gateway-test",
    settings: GatewaySettings | None = None,
    shard: tuple[int, int] | None = None,
    session_timeout_ms: int = EMBEDDED_SESSION_TIMEOUT_MS,
) -> GatewayRunner:
    """A (not yet started) gateway runner on ``topics`` with quick timeouts for tests."""
    settings = settings or GatewaySettings(
        bootstrap=bootstrap, topic_prefix=topics.prefix, instance_id=instance
    )
    return GatewayRunner(
        build_processor(settings),
        bootstrap=bootstrap,
        topics=topics,
        departments=settings.departments,
        group_id=group or f"{topics.prefix}-gateway",
        batch_timeout_ms=20,
        producer_request_timeout_ms=2000,
        shard=shard,
        session_timeout_ms=session_timeout_ms,
    )
