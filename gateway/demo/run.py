"""Run the whole exchange on the embedded broker and show what the audit log says, live.

One process: the embedded broker, one gateway instance, the reference departments (found through
:mod:`gateway.departments.services`), the requester traffic (:mod:`gateway.departments.traffic`)
and an audit tail that counts decisions per agreement. When the traffic is done and every reply
is in, it all stops in order and a summary is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.live import Live

from gateway.demo.summary import progress_line, render_tally
from gateway.demo.tally import AuditTally
from gateway.departments.services import DepartmentServices, department_services
from gateway.departments.traffic import TrafficStats, run_traffic
from gateway.embedded.broker import EmbeddedBroker, start_gateway_broker
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditRecord
from gateway.envelope.signature import MessageSigner
from gateway.errors import DecodeError
from gateway.service import running_gateway
from gateway.settings import GatewaySettings
from gateway.synthetic.datasets import DEFAULT_SEED, DEFAULT_SIZE, PROVIDERS
from gateway.transport.topics import READ_COMMITTED, TopicNames

__all__ = ["DemoResult", "render_tally", "run_demo"]

AfterDemo = Callable[[str, TopicNames], Awaitable[Any]]


@dataclass(slots=True)
class DemoResult:
    traffic: TrafficStats
    tally: AuditTally
    answered_by: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """Every request was answered and every answer was the one the plan expected."""
        return self.traffic.timeouts == 0 and self.traffic.unexpected == 0


async def run_demo(
    settings: GatewaySettings,
    *,
    seconds: float,
    rate: float,
    console: Console,
    after: AfterDemo | None = None,
) -> DemoResult:
    """Run the demo for ``seconds`` of traffic at ``rate`` requests/s; ``after`` runs on the
    still-running broker once everything else has stopped (e.g. to export the audit log)."""
    began = time.monotonic()
    topics = TopicNames(settings.topic_prefix)
    services = department_services()
    broker = start_gateway_broker(topics, settings.departments, settings.partitions)
    try:
        broker.create_topics(services.extra_topics(PROVIDERS, topics), services.topic_partitions)
        settings = settings.model_copy(update={"bootstrap": broker.bootstrap})
        result = await _run(settings, topics, broker, services, seconds, rate, console)
        if after is not None:
            await after(broker.bootstrap, topics)
        result.elapsed_s = time.monotonic() - began
        return result
    finally:
        broker.stop()


async def _run(
    settings: GatewaySettings,
    topics: TopicNames,
    broker: EmbeddedBroker,
    services: DepartmentServices,
    seconds: float,
    rate: float,
    console: Console,
) -> DemoResult:
    tally = AuditTally()
    gateway_stop, departments_stop, tail_stop = asyncio.Event(), asyncio.Event(), asyncio.Event()
    console.print(f"[bold]embedded broker[/] {broker.bootstrap} (in memory, development only)")
    async with running_gateway(settings, gateway_stop) as gw:
        await gw.runner.wait_assigned()
        console.print(
            f"[bold]gateway[/] {settings.instance_id}: policy set "
            f"{gw.runner.processor.policy.version}, "
            f"{len(gw.runner.processor.policy.agreements)} agreements"
        )
        if gw.metrics_address is not None:
            host, port = gw.metrics_address
            console.print(
                f"[bold]metrics[/] http://{host}:{port}/metrics, /healthz, /readyz; "
                f"status: gateway status --bootstrap {broker.bootstrap}; "
                f"console: gateway console --bootstrap {broker.bootstrap}"
            )
        ready = asyncio.Event()
        departments = asyncio.create_task(
            services.run(
                broker.bootstrap,
                PROVIDERS,
                departments_stop,
                topics=topics,
                dataset_size=DEFAULT_SIZE,
                seed=DEFAULT_SEED,
                ready=ready,
                gateway_key=_gateway_public_key(settings),
            )
        )
        tail = asyncio.create_task(_tail_audit(broker.bootstrap, topics, tally, tail_stop))
        await ready.wait()
        console.print(
            f"[bold]departments[/] {', '.join(PROVIDERS)} answering; "
            f"traffic {rate:g}/s for {seconds:g}s"
        )
        traffic = asyncio.create_task(
            run_traffic(broker.bootstrap, rate_per_s=rate, duration_s=seconds, topics=topics)
        )
        await _show(console, tally, traffic)
        stats = traffic.result()
        await _settle(tally)
        departments_stop.set()
        answered_by = await departments
        tail_stop.set()
        await tail
    return DemoResult(traffic=stats, tally=tally, answered_by=answered_by)


async def _tail_audit(
    bootstrap: str, topics: TopicNames, tally: AuditTally, stop: asyncio.Event
) -> None:
    codec = Codec.default()
    consumer = AIOKafkaConsumer(
        topics.audit,
        isolation_level=READ_COMMITTED,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    with contextlib.suppress(DecodeError):
                        tally.add(codec.decode(r.value, AuditRecord))
    finally:
        await consumer.stop()


async def _show(console: Console, tally: AuditTally, traffic: asyncio.Task[Any]) -> None:
    """Refresh the live table until the traffic task ends (plain lines when not a terminal)."""
    if console.is_terminal:
        with Live(render_tally(tally), console=console, refresh_per_second=4) as live:
            while not traffic.done():
                await asyncio.sleep(0.25)
                live.update(render_tally(tally))
        return
    last = 0.0
    while not traffic.done():
        await asyncio.sleep(0.25)
        if time.monotonic() - last >= 5:
            last = time.monotonic()
            console.print(progress_line(tally))


async def _settle(tally: AuditTally, quiet_for: float = 1.0, within: float = 15.0) -> None:
    """Wait until the audit tail has stopped growing (every reply's record is in)."""
    deadline = time.monotonic() + within
    seen, since = tally.records, time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        if tally.records != seen:
            seen, since = tally.records, time.monotonic()
        elif time.monotonic() - since >= quiet_for:
            return


def _gateway_public_key(settings: GatewaySettings) -> Ed25519PublicKey | None:
    """The public half of the key the gateway signs inbox messages with (None: the shipped
    development key's, which the departments use by default)."""
    signing = settings.message_signing_key
    return MessageSigner.load(signing.get_secret_value()).public_key if signing else None
