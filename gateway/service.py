"""The composition root: builds the gateway's parts from one settings object."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from gateway.audit.setup import audit_chain_from_settings
from gateway.audit.subject import SubjectKeyer
from gateway.embedded.identity import EMBEDDED_SESSION_TIMEOUT_MS, is_embedded
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditOutcome, Reason
from gateway.envelope.schemas import SchemaRegistry
from gateway.envelope.signature import MessageSigner
from gateway.exchange.dedupe import SeenIds
from gateway.exchange.processor import ExchangeProcessor
from gateway.exchange.tokens import TokenSigner
from gateway.logs import NOISE
from gateway.operations.http import OperatorEndpoint, readiness
from gateway.operations.metrics import GatewayMetrics
from gateway.policy import (
    CompiledPolicy,
    PolicyChange,
    PolicyHolder,
    PolicyRejected,
    PolicySet,
    PolicyWatcher,
    compile_policies,
    load_policies,
)
from gateway.settings import GatewaySettings
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

if TYPE_CHECKING:
    from gateway.embedded.broker import EmbeddedBroker

__all__ = ["Gateway", "build_processor", "running_gateway"]

log = logging.getLogger("gateway")


def _transactions(settings: GatewaySettings, bootstrap: str, *, own_broker: bool) -> bool:
    """Whether to write in transactions: as set, else on Apache Kafka only (an embedded broker,
    started here or as ``gateway broker``, cannot filter aborted records)."""
    if settings.transactions is not None:
        return settings.transactions
    return not own_broker and not is_embedded(bootstrap)


def build_processor(
    settings: GatewaySettings, codec: Codec | None = None, *, decision_classes: int = 4096
) -> ExchangeProcessor:
    """Load and compile the policies and assemble the pure core (``decision_classes``: how
    many decision classes keep a compiled plan; 0 sends every request the general way).

    Outside development mode (``GATEWAY_ENV``), a development secret or signing key stops it
    with a :class:`~gateway.errors.ConfigError`; in development mode they are used with a
    warning."""
    policy = policy_compiler(settings)(load_policies(settings.policies_dir))
    codec = codec or Codec(SchemaRegistry.from_dir(settings.schemas_dir))
    signing_key = settings.message_signing_key
    message_signer = MessageSigner.load(signing_key.get_secret_value() if signing_key else None)
    audit_chain = audit_chain_from_settings(settings, codec)
    development_keys = [
        name
        for name, is_development in (
            ("GATEWAY_MESSAGE_SIGNING_KEY", message_signer.is_development),
            ("GATEWAY_AUDIT_SIGNING_KEY", audit_chain.signed_by_development_key),
        )
        if is_development
    ]
    settings.refuse_development_material(development_keys)
    if settings.uses_dev_secrets:
        log.warning(
            "using the development secrets; set %s in production",
            ", ".join(settings.development_secrets),
        )
    return ExchangeProcessor(
        policy=policy,
        codec=codec,
        topics=TopicNames(settings.topic_prefix),
        signer=TokenSigner(settings.token_secret.get_secret_value().encode()),
        subjects=SubjectKeyer(settings.subject_key_secret.get_secret_value().encode()),
        instance_id=settings.instance_id,
        token_ttl=timedelta(seconds=settings.token_ttl_seconds),
        seen=SeenIds(settings.dedupe_capacity),
        audit_chain=audit_chain,
        message_signer=message_signer,
        sent_at_window=settings.sent_at_window,
        decision_classes=decision_classes,
    )


def policy_compiler(settings: GatewaySettings) -> Callable[[PolicySet], CompiledPolicy]:
    """Compiles a loaded policy set with the gateway's pseudonym secret."""
    secret = settings.pseudonym_secret.get_secret_value().encode()
    return functools.partial(compile_policies, pseudonym_secret=secret)


@dataclass(slots=True)
class Gateway:
    """A started runner, its processor and (when embedded) the broker it runs on."""

    runner: GatewayRunner
    bootstrap: str
    broker: EmbeddedBroker | None
    policies: PolicyHolder | None = None
    """The active policy set, reloaded when the policy directory changes."""
    metrics: GatewayMetrics | None = None
    metrics_address: tuple[str, int] | None = None
    """Where ``/metrics``, ``/healthz`` and ``/readyz`` are served, when they are."""


@contextlib.asynccontextmanager
async def running_gateway(settings: GatewaySettings, stop: asyncio.Event) -> AsyncIterator[Gateway]:
    """Start the broker (unless ``settings.bootstrap`` names one) and a runner processing until
    ``stop`` is set; on exit, finish the batch in hand and close everything."""
    topics = TopicNames(settings.topic_prefix)
    processor = build_processor(settings)  # bad policies fail here, before anything starts
    broker: EmbeddedBroker | None = None
    bootstrap = settings.bootstrap
    if bootstrap is None:
        from gateway.embedded.broker import start_gateway_broker  # the local-kafka extra

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
        transactions=_transactions(settings, bootstrap, own_broker=broker is not None),
    )
    holder = PolicyHolder(processor.policy)
    source = f"policies:{settings.policies_dir}"
    metrics = GatewayMetrics() if settings.metrics_port is not None else None
    if metrics is not None:
        metrics.watch(runner)

    def applied(change: PolicyChange) -> None:
        processor.policy = change.new
        if metrics is not None:
            metrics.policy_reloaded(applied=True)
        runner.note_policy_event(
            AuditOutcome.POLICY_APPLIED, change.reasons(), change.new_version, source
        )

    def rejected(refusal: PolicyRejected) -> None:
        if metrics is not None:
            metrics.policy_reloaded(applied=False)
        reasons = [Reason(code="policy.rejected", message=p) for p in refusal.problems]
        runner.note_policy_event(
            AuditOutcome.POLICY_REJECTED, reasons, refusal.active_version, source
        )

    holder.subscribe(applied)
    endpoint: OperatorEndpoint | None = None
    try:
        address = None
        if metrics is not None and settings.metrics_port is not None:
            endpoint = OperatorEndpoint(metrics, lambda: readiness(runner))
            address = await endpoint.start(settings.metrics_host, settings.metrics_port)
            log.info("metrics on http://%s:%d/metrics (and /healthz, /readyz)", *address)
        await runner.start()  # restores the volume caps of the capped partitions it owns
        task = asyncio.create_task(runner.run(stop), name="gateway-runner")
        watcher = PolicyWatcher(
            settings.policies_dir,
            holder,
            compile=policy_compiler(settings),
            interval=settings.policy_reload_seconds,
            on_rejected=rejected,
        )
        reload = settings.policy_reload_seconds > 0
        watching = asyncio.create_task(watcher.run(stop), name="policy-watcher") if reload else None
        kafka_watch = asyncio.create_task(_watch_kafka(stop), name="kafka-watch")
        try:
            yield Gateway(
                runner=runner,
                bootstrap=bootstrap,
                broker=broker,
                policies=holder,
                metrics=metrics,
                metrics_address=address,
            )
        finally:
            stop.set()
            await _finish(task, processor, settings.shutdown_timeout_seconds * 2 / 3)
            if watching is not None:
                await watching
            await kafka_watch
    finally:
        await runner.stop(within=settings.shutdown_timeout_seconds / 9)
        if endpoint is not None:
            await endpoint.stop()
        if broker is not None:
            broker.stop()


async def _watch_kafka(stop: asyncio.Event) -> None:
    """Say when Kafka becomes unreachable, and when it answers again."""
    NOISE.announce()
    while not stop.is_set():
        NOISE.check()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


async def _finish(task: asyncio.Task[None], processor: ExchangeProcessor, within: float) -> None:
    """Let the runner finish the batch in hand and sign its chains' heads, for at most
    ``within`` seconds; then say what could not be written."""
    chain = processor.audit_chain
    unsigned = chain.unsigned()
    done, _ = await asyncio.wait({task}, timeout=within)
    if task in done:
        task.result()
        unsigned.update(chain.unsigned())
        left = {p: n for p, n in unsigned.items() if not chain.has_head(p) or p in chain.unsigned()}
    else:
        left = unsigned | chain.unsigned()  # whatever was being written may not have landed
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        log.error(
            "shutdown: the runner did not finish within %.1fs; the batch in hand, if any, "
            "was not committed and is read again by the next instance",
            within,
        )
    if left:
        log.error(
            "shutdown: final audit checkpoints not written for partitions %s; their last "
            "records stay unsigned until an instance continuing those chains signs them",
            ", ".join(f"{p} ({n} records)" for p, n in sorted(left.items())),
        )
