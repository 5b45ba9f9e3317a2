"""One reliability campaign: a three-node Kafka, gateways and departments as processes, steady
traffic, faults at random moments, then every request checked against every reply.

The cluster, the topics (under a prefix of the campaign's own), the consumer group and every
process are the campaign's; nothing outlives it. The children's logs are kept in
``work_dir/logs`` when the campaign fails (or always, when ``work_dir`` is given).
"""

from __future__ import annotations

import asyncio
import logging
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.checkpoint import CheckpointSigner
from gateway.chaos.audit_check import AuditFindings, check_audit
from gateway.chaos.exchanges import ReplyCollector, Sent, send_steadily
from gateway.chaos.faults import FaultKind, PlannedFault, plan_faults
from gateway.chaos.processes import Child, Fleet
from gateway.chaos.reference import ReferenceReplies, differences
from gateway.chaos.report import CampaignReport, Fault
from gateway.cluster import KafkaCluster
from gateway.departments.client import DepartmentClient
from gateway.departments.services import department_services
from gateway.envelope.codec import Codec
from gateway.envelope.signature import MessageSigner
from gateway.errors import GatewayError
from gateway.service import build_processor
from gateway.settings import GatewaySettings
from gateway.synthetic.datasets import PROVIDERS
from gateway.synthetic.traffic import plan_requests
from gateway.transport.topics import TopicNames

__all__ = ["CampaignOptions", "run_campaign"]

log = logging.getLogger("gateway.chaos")

_EXAMPLES = 5


@dataclass(slots=True)
class CampaignOptions:
    exchanges: int = 2000
    rate: float = 100.0
    """Requests per second."""
    seed: int = 1
    gateways: int = 3
    partitions: int = 4
    drain_timeout_s: float = 90.0
    """After the last request: how long to wait without any new reply before the unanswered
    ones count as lost."""
    work_dir: Path | None = None
    cluster: KafkaCluster | None = None
    """A running three-node cluster to use (its faults are repaired before the campaign ends);
    None: the campaign starts one of its own."""
    settings: GatewaySettings = field(default_factory=GatewaySettings)
    progress: Callable[[str], None] = lambda line: None


class _Run:
    """The state of one campaign while it runs."""

    def __init__(self, options: CampaignOptions, cluster: KafkaCluster, fleet: Fleet) -> None:
        self.options = options
        self.cluster = cluster
        self.fleet = fleet
        self.rng = random.Random(f"chaos-targets:{options.seed}")
        self.began = time.monotonic()
        self.faults: list[Fault] = []
        self.extra: Child | None = None
        self.leaving: list[Child] = []
        self.repairs: list[asyncio.Task[None]] = []

    def note(self, kind: str, target: str) -> None:
        at = round(time.monotonic() - self.began, 2)
        self.faults.append(Fault(kind, target, at, datetime.now(UTC).isoformat()))
        self.options.progress(f"{at:7.1f}s  {kind} {target}")

    async def inject(self, plan: list[PlannedFault]) -> None:
        broker: int | None = None
        for planned in plan:
            delay = self.began + planned.at_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if planned.kind is FaultKind.KILL_GATEWAY:
                victims = [
                    c
                    for c in self.fleet.running_gateways()
                    if c is not self.extra and c not in self.leaving
                ]
                victim = self.rng.choice(victims)
                await asyncio.to_thread(victim.kill)
                self.note("gateway_killed", victim.name)
                replacement = self.fleet.start_gateway()
                self.note("gateway_started", replacement.name)
            elif planned.kind is FaultKind.KILL_BROKER:
                broker = self.rng.choice([node.node_id for node in self.cluster.nodes])
                await asyncio.to_thread(self.cluster.kill_node, broker)
                self.note("broker_killed", f"node-{broker}")
            elif planned.kind is FaultKind.RESTART_BROKER and broker is not None:
                self.repairs.append(asyncio.create_task(self._restart(broker)))
            elif planned.kind is FaultKind.ADD_MEMBER:
                self.extra = self.fleet.start_gateway()
                self.note("member_added", self.extra.name)
            elif planned.kind is FaultKind.REMOVE_MEMBER and self.extra is not None:
                leaving, self.extra = self.extra, None
                self.leaving.append(leaving)
                self.note("member_removed", leaving.name)
                self.repairs.append(asyncio.create_task(self._leave(leaving)))
        await asyncio.gather(*self.repairs)

    async def _restart(self, node: int) -> None:
        await asyncio.to_thread(self.cluster.start_node, node, 120.0)
        self.note("broker_restarted", f"node-{node}")

    async def _leave(self, child: Child) -> None:
        # a member leaves once it has joined: SIGTERM before its handlers exist just kills it
        await asyncio.to_thread(self.fleet.wait_for_line, child, "bootstrap=")
        status = await asyncio.to_thread(child.terminate)
        if status != 0:
            self.fleet.exited.append(f"{child.name} left with status {status}: {child.tail(5)!r}")


async def run_campaign(options: CampaignOptions) -> CampaignReport:
    """Run one campaign and report what it found."""
    began = time.monotonic()
    work = options.work_dir or Path(tempfile.mkdtemp(prefix="dx-chaos-"))
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    settings = options.settings
    codec = Codec.default()
    topics = TopicNames(f"chaos{uuid.uuid4().hex[:8]}")
    say = options.progress
    cluster = options.cluster or KafkaCluster(3, progress=say)
    if options.cluster is None:
        say("starting a three-node Apache Kafka cluster ...")
        await asyncio.to_thread(cluster.start)
    elif len(cluster.nodes) != 3:
        raise GatewayError(f"the campaign needs three Kafka nodes, not {len(cluster.nodes)}")
    report = CampaignReport(gateways=options.gateways, seed=options.seed)
    services = department_services()  # what the departments' processes need
    try:
        cluster.create_topics(topics.all_topics(list(settings.departments)), options.partitions)
        cluster.create_topics(services.extra_topics(PROVIDERS, topics), services.topic_partitions)
        fleet = Fleet(
            bootstrap=cluster.bootstrap,
            prefix=topics.prefix,
            group=f"{topics.prefix}-gateway",
            policies_dir=settings.policies_dir.resolve(),
            log_dir=logs,
            gateway_key_pem=_message_key_pem(settings, work),
        )
        try:
            sent_ids = await _campaign(options, cluster, fleet, topics, codec, report)
        finally:
            await asyncio.to_thread(fleet.stop_all)
        audit = await check_audit(
            cluster.bootstrap, topics, work / "audit.jsonl", _audit_key(settings), codec
        )
        _judge_audit(report, audit, sent_ids)
    finally:
        if options.cluster is None:
            await asyncio.to_thread(cluster.stop)
    report.elapsed_s = round(time.monotonic() - began, 1)
    if report.ok and options.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    else:
        report.examples.setdefault("logs", []).append(str(logs))
    return report


async def _campaign(
    options: CampaignOptions,
    cluster: KafkaCluster,
    fleet: Fleet,
    topics: TopicNames,
    codec: Codec,
    report: CampaignReport,
) -> list[str]:
    """Traffic and faults; the replies judged into ``report``; the ids of the requests sent."""
    say = options.progress
    fleet.start_departments()
    starting = [fleet.start_gateway() for _ in range(options.gateways)]
    for child in starting:
        if not await asyncio.to_thread(fleet.wait_for_line, child, "bootstrap="):
            raise GatewayError(f"gateway {child.name} did not start:\n{child.tail()}")
    say(f"{options.gateways} gateways and the departments running on {cluster.bootstrap}")
    plan = plan_requests(options.exchanges, options.seed)
    requesters = sorted({p.requester for p in plan})
    collector = ReplyCollector(
        cluster.bootstrap,
        topics,
        requesters,
        codec,
        partitions=options.partitions,
        gateway_key=_message_public_key(options.settings),
    )
    clients = {d: DepartmentClient(d, cluster.bootstrap, topics=topics, codec=codec)
               for d in requesters}  # fmt: skip
    sent = Sent()
    await collector.start()
    try:
        for client in clients.values():
            await client.start()
        run = _Run(options, cluster, fleet)
        duration = options.exchanges / options.rate
        say(f"sending {options.exchanges} requests at {options.rate:g}/s (~{duration:.0f}s)")
        faults = asyncio.create_task(run.inject(plan_faults(duration, options.seed)))
        watching = asyncio.create_task(_watch(run, sent, collector))
        await send_steadily(plan, clients, options.rate, sent)
        report.traffic_s = round(time.monotonic() - run.began, 1)
        await faults
        await _drain(sent, collector, options.drain_timeout_s, say)
        watching.cancel()
        report.faults = run.faults
        await asyncio.to_thread(fleet.stop_all)
        if not await collector.caught_up():
            report.examples.setdefault("replies", []).append("reader did not reach the end")
    finally:
        for client in clients.values():
            await client.stop()
        await collector.stop()
    _judge_replies(report, sent, collector, options, topics, codec)
    fleet.check()
    if fleet.exited:
        report.examples["unexpected_exits"] = fleet.exited
    return list(sent.requests)


async def _watch(run: _Run, sent: Sent, collector: ReplyCollector) -> None:
    while True:
        await asyncio.sleep(10)
        run.fleet.check()
        answered = sum(1 for rid in sent.requests if rid in collector.replies)
        run.options.progress(
            f"{time.monotonic() - run.began:7.1f}s  sent {len(sent.requests)}, "
            f"answered {answered}, gateways {len(run.fleet.running_gateways())}"
        )


async def _drain(
    sent: Sent, collector: ReplyCollector, idle_s: float, say: Callable[[str], None]
) -> None:
    """Wait until every request is answered, or no reply has come for ``idle_s`` seconds."""
    while True:
        missing = sum(1 for rid in sent.requests if rid not in collector.replies)
        if not missing:
            return
        if time.monotonic() - collector.last_reply_at > idle_s:
            say(f"no reply for {idle_s:g}s with {missing} request(s) unanswered")
            return
        await asyncio.sleep(0.5)


def _judge_replies(
    report: CampaignReport,
    sent: Sent,
    collector: ReplyCollector,
    options: CampaignOptions,
    topics: TopicNames,
    codec: Codec,
) -> None:
    settings = options.settings.model_copy(
        update={"topic_prefix": topics.prefix, "instance_id": "chaos-reference"}
    )
    reference = ReferenceReplies(build_processor(settings, codec), topics, codec)
    examples = report.examples
    report.sent = len(sent.requests)
    for rid, request in sent.requests.items():
        replies = collector.replies.get(rid, [])
        if not replies:
            report.lost += 1
            _example(examples, "lost", rid)
            continue
        report.answered += 1
        if len(replies) > 1:
            report.duplicated += 1
            _example(examples, "duplicated", f"{rid} x{len(replies)}")
        want = reference.expected(request, request.sent_at)
        for reply in replies:
            found = differences(reply, want)
            if found:
                report.wrong += 1
                _example(examples, "wrong", f"{rid}: {', '.join(found)}")
                break
    strangers = [rid for rid in collector.replies if rid not in sent.requests]
    report.wrong += len(strangers) + len(collector.rejected)
    for rid in strangers:
        _example(examples, "wrong", f"{rid}: answers no request sent")
    for problem in collector.rejected:
        _example(examples, "wrong", problem)


def _judge_audit(report: CampaignReport, audit: AuditFindings, sent_ids: list[str]) -> None:
    report.audit_chain_valid = audit.chain_valid
    report.audit_records = audit.records
    report.decisions = audit.decisions
    report.audit_problems = audit.problems
    for rid in sent_ids:
        count = audit.request_decisions[rid]
        if count != 1:
            report.unaudited += 1
            _example(report.examples, "unaudited", f"{rid}: {count} request decisions")


def _example(examples: dict[str, list[str]], kind: str, text: str) -> None:
    kept = examples.setdefault(kind, [])
    if len(kept) < _EXAMPLES:
        kept.append(text)


def _message_public_key(settings: GatewaySettings) -> Ed25519PublicKey | None:
    signing = settings.message_signing_key
    return MessageSigner.load(signing.get_secret_value()).public_key if signing else None


def _message_key_pem(settings: GatewaySettings, work: Path) -> Path | None:
    """The message signing public key as a PEM file for the departments (None: the shipped)."""
    key = _message_public_key(settings)
    if key is None:
        return None
    path = work / "message-signing.pub"
    path.write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def _audit_key(settings: GatewaySettings) -> Ed25519PublicKey | None:
    key = settings.audit_signing_key
    return CheckpointSigner.load(key.get_secret_value()).public_key if key else None
