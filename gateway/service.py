"""The composition root: builds the gateway's parts from one settings object."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from gateway.audit.subject import SubjectKeyer
from gateway.envelope.codec import Codec
from gateway.envelope.schemas import SchemaRegistry
from gateway.exchange.dedupe import SeenIds
from gateway.exchange.processor import ExchangeProcessor
from gateway.exchange.tokens import TokenSigner
from gateway.policy import compile_policies, load_policies
from gateway.settings import GatewaySettings
from gateway.transport.broker import (
    EMBEDDED_SESSION_TIMEOUT_MS,
    EmbeddedBroker,
    start_gateway_broker,
)
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

__all__ = ["Gateway", "build_processor", "running_gateway"]

log = logging.getLogger("gateway")


def build_processor(settings: GatewaySettings, codec: Codec | None = None) -> ExchangeProcessor:
    """Load and compile the policies and assemble the pure core."""
    policy = compile_policies(load_policies(settings.policies_dir))
    if settings.uses_dev_secrets:
        log.warning(
            "using the development token and subject-key secrets; set GATEWAY_TOKEN_SECRET "
            "and GATEWAY_SUBJECT_KEY_SECRET in production"
        )
    return ExchangeProcessor(
        policy=policy,
        codec=codec or Codec(SchemaRegistry.from_dir(settings.schemas_dir)),
        topics=TopicNames(settings.topic_prefix),
        signer=TokenSigner(settings.token_secret.get_secret_value().encode()),
        subjects=SubjectKeyer(settings.subject_key_secret.get_secret_value().encode()),
        instance_id=settings.instance_id,
        token_ttl=timedelta(seconds=settings.token_ttl_seconds),
        seen=SeenIds(settings.dedupe_capacity),
    )


@dataclass(slots=True)
class Gateway:
    """A started runner, its processor and (when embedded) the broker it runs on."""

    runner: GatewayRunner
    bootstrap: str
    broker: EmbeddedBroker | None


@contextlib.asynccontextmanager
async def running_gateway(settings: GatewaySettings, stop: asyncio.Event) -> AsyncIterator[Gateway]:
    """Start the broker (unless ``settings.bootstrap`` names one) and a runner processing until
    ``stop`` is set; on exit, finish the batch in hand and close everything."""
    topics = TopicNames(settings.topic_prefix)
    processor = build_processor(settings)  # bad policies fail here, before anything starts
    broker: EmbeddedBroker | None = None
    bootstrap = settings.bootstrap
    if bootstrap is None:
        broker = start_gateway_broker(topics, settings.departments, settings.partitions)
        bootstrap = broker.bootstrap
    runner = GatewayRunner(
        processor,
        bootstrap=bootstrap,
        topics=topics,
        departments=settings.departments,
        group_id=settings.group_id,
        batch_max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
        shard=settings.shard_spec,
        session_timeout_ms=EMBEDDED_SESSION_TIMEOUT_MS if broker is not None else 10_000,
    )
    try:
        await runner.start()
        task = asyncio.create_task(runner.run(stop), name="gateway-runner")
        try:
            yield Gateway(runner=runner, bootstrap=bootstrap, broker=broker)
        finally:
            stop.set()
            await task
    finally:
        await runner.stop()
        if broker is not None:
            broker.stop()
