"""The driving side of ``gateway bench``: broker, inputs, providers, checks and the report.

One run, on the embedded broker in this process:

1. Pass-through: N encoded requests are produced to an input topic; a worker pinned to one CPU
   forwards them to an output topic with the gateway runner's writer (consume, write, wait for
   acknowledgements, commit), in pure Python: aiokafka's own murmur2 picks each keyed record's
   partition, as a bare aiokafka producer's does. Three times, on fresh topics; the median run
   counts, and is what the ratio divides by. Alternately with those runs, three more with the
   gateway's C murmur2 (``passthrough_gateway_hashes``): the ratio against that writer too.
2. Gateway: the same N requests go to the ``requests`` topics of fresh gateway topics; a worker
   on that CPU runs the gateway until it has consumed them and a response for every request it
   routed, while this process answers every inbox from the synthetic datasets.
3. Latency: with that gateway still running, requests are sent at a steady moderate rate through
   department clients and timed from request to reply.
4. Decision caches: phase 2 started them cold; two more gateways, on fresh topics, run with them
   warm (the same kinds of request processed once before, untimed) and on a realistic mix (each
   kind and purpose asked in a few ways), each reporting its ratio, the plans it compiled and the
   share of requests and responses that took one.

Then everything is checked: every request answered exactly once, one audit record per record
consumed, no dead letters, nothing deleted by the embedded broker's retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from gateway.bench._checks import deleted, verify, watermarks
from gateway.bench._floor import runner_floor
from gateway.bench._process import worker_process
from gateway.bench._workload import Inputs, encode_requests, produce, serve_inboxes
from gateway.bench.errors import BenchError
from gateway.cluster import KafkaCluster
from gateway.departments.traffic import run_traffic
from gateway.embedded.broker import EmbeddedBroker, wait_until_ready
from gateway.envelope.codec import Codec
from gateway.exchange.messages import OutputMessage
from gateway.synthetic.datasets import DEFAULT_SEED
from gateway.testing import BrokerUnderTest, fresh_topics
from gateway.transport.topics import READ_COMMITTED, TopicNames

__all__ = ["GOAL_RATIO", "BenchConfig", "CpuPlan", "plan_cpus", "run_bench"]

GOAL_RATIO = 0.35
"""Gateway throughput over raw pass-through that the gateway should reach on one core."""

_PER_PARTITION = 2_500
"""Messages per partition at most, on average: ~2 MB of audit records, well inside the embedded
broker's ~5 MB per partition, so nothing is deleted before it is read."""
_PASSTHROUGH_RUNS = 3
"""The pass-through phase lasts well under a second, so it is run this often and the median
taken: one run alone varies by a quarter."""
_MAX_LATENCY_RATE = 500.0
_LATENCY_SHARE = 0.2
"""Latency is probed at 20% of the measured capacity (at most 500 requests/s)."""
_LATENCY_NOTE = (
    "the embedded broker holds a fetch that finds no data for the consumer's whole "
    "fetch_max_wait_ms, even if data arrives meanwhile; a reply takes four such hops "
    "(gateway 50 ms twice, provider 20 ms, requester 100 ms), which dominates these figures"
)


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """What to run; ``None`` means the default described on each field."""

    messages: int = 20_000
    latency_messages: int | None = None
    """Default: ``min(2000, messages)``."""
    latency_rate: float | None = None
    """Requests per second; default: 20% of the measured capacity, at most 500."""
    partitions: int | None = None
    """Default: enough that no partition holds more than 2,500 messages on average."""
    cpu: int | None = None
    """The CPU for the measured worker; default: the last one this process may use."""
    timeout_s: float | None = None
    """Per phase; default: 60 s plus 4 ms per message."""
    profile: Path | None = None
    seed: int = DEFAULT_SEED
    compare_metrics: bool = False
    """Also run the gateway's throughput phase with and without its metrics, alternately."""
    compare_transactions: bool = False
    """Also run it on Apache Kafka (started for the purpose) with and without transactions."""
    runner_floor: bool = False
    """Also measure the runner's own cost per record: the transport floor against the runner
    with a zero-cost processor, writing the same precomputed outputs, alternately."""


@dataclass(frozen=True, slots=True)
class CpuPlan:
    """Where the worker and this process run."""

    worker: int | None
    driver: tuple[int, ...]
    note: str = ""

    def summary(self) -> dict[str, Any]:
        pinned = self.worker is not None and bool(self.driver)
        return {"worker": self.worker, "driver": list(self.driver), "pinned": pinned} | (
            {"note": self.note} if self.note else {}
        )


def plan_cpus(requested: int | None) -> CpuPlan:
    """The worker gets one CPU of its own; this process (and the broker's threads) the rest."""
    if not hasattr(os, "sched_getaffinity"):
        return CpuPlan(None, (), "CPU affinity is not available on this platform")
    allowed = sorted(os.sched_getaffinity(0))
    worker = allowed[-1] if requested is None else requested
    if worker not in allowed:
        raise BenchError(f"CPU {worker} is not available; this process may use {allowed}")
    rest = tuple(c for c in allowed if c != worker)
    if not rest:
        return CpuPlan(worker, (), "one CPU only: the worker shares it with the broker")
    return CpuPlan(worker, rest)


def _pin_this_process(cpus: Iterable[int]) -> None:
    """Pin every thread of this process (threads started later inherit it)."""
    wanted = set(cpus)
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    for tid in threads:
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(tid, wanted)


async def run_bench(config: BenchConfig) -> dict[str, Any]:
    """Run every phase and return the report; raise :class:`BenchError` if anything fails."""
    n = config.messages
    if n < 1:
        raise BenchError(f"messages must be at least 1, not {n}")
    cpus = plan_cpus(config.cpu)
    with contextlib.ExitStack() as resources:
        kafka = None
        if config.compare_transactions:  # before pinning: the JVM must not share the driver's CPU
            kafka = resources.enter_context(KafkaCluster(nodes=1))
            kafka.start()
            await _warm_up(kafka)
        original = os.sched_getaffinity(0) if cpus.driver else None
        if cpus.driver:
            _pin_this_process(cpus.driver)  # before the broker starts its threads
        try:
            return await _run(config, cpus, kafka)
        finally:
            if original is not None:
                _pin_this_process(original)


async def _warm_up(kafka: KafkaCluster) -> None:
    """Have a fresh Apache Kafka create its offsets and transaction state topics, which it does
    on their first use, so that this is not measured as the first gateway's start."""
    topic, bootstrap = "bench-warm-up", kafka.bootstrap
    kafka.create_topics([topic], partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=topic)
    await producer.start()
    await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=topic, isolation_level=READ_COMMITTED
    )
    await consumer.start()
    try:
        async with asyncio.timeout(120):
            while not consumer.assignment():
                await consumer.getmany(timeout_ms=200)
    finally:
        await consumer.stop()


async def _run(config: BenchConfig, cpus: CpuPlan, kafka: KafkaCluster | None) -> dict[str, Any]:
    n = config.messages
    partitions = config.partitions or min(max(4, math.ceil(n / _PER_PARTITION)), 64)
    timeout = config.timeout_s or 60.0 + n * 0.004
    codec = Codec.default()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    broker = EmbeddedBroker(partitions=partitions)
    broker.start()
    try:
        await wait_until_ready(broker.bootstrap)
        topics = fresh_topics(broker, partitions)
        inputs = encode_requests(n, config.seed, topics, broker.bootstrap, codec)
        runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        for _ in range(_PASSTHROUGH_RUNS):  # alternately, so the machine's load favours neither
            for hashes in (False, True):
                runs[hashes].append(
                    await _passthrough_phase(
                        broker, inputs, partitions, cpus, timeout, gateway_hashes=hashes
                    )
                )
        passthrough, hashed = _median_run(runs[False]), _median_run(runs[True])
        gateway, latency, totals = await _gateway_phases(
            broker.bootstrap, topics, inputs, config, cpus, timeout, codec
        )
        checks, problems = await verify(
            broker.bootstrap, topics, partitions, inputs, gateway, latency, totals, codec
        )
        problems += passthrough.pop("problems") + hashed.pop("problems")
        pt_rate = passthrough["records"] / passthrough["elapsed_s"]
        caches = await _cache_phases(config, cpus, timeout, pt_rate, gateway)
        cost = (
            await _alternating_cost(broker, "--metrics", _METRICS_RUNS, config, cpus, timeout)
            if config.compare_metrics
            else None
        )
        floor = (
            await runner_floor(
                broker,
                messages=n,
                seed=config.seed,
                partitions=partitions,
                cpu=cpus.worker,
                limit_s=timeout,
            )
            if config.runner_floor
            else None
        )
    finally:
        broker.stop()
    transactions = None
    if kafka is not None:
        transactions = await _alternating_cost(
            kafka, "--transactions", _TRANSACTION_RUNS, config, cpus, timeout
        )
        transactions["broker"] = f"Apache Kafka {kafka.version}, one node"
    pt_rate = round(passthrough["records"] / passthrough["elapsed_s"], 1)
    gw_rate = round(gateway["records"] / gateway["elapsed_s"], 1)
    report = {
        "passthrough_msgs_per_s": pt_rate,
        "gateway_msgs_per_s": gw_rate,
        "ratio": round(gw_rate / pt_rate, 5),
        "goal_ratio": GOAL_RATIO,
        "p50_ms": latency["p50_ms"],
        "p99_ms": latency["p99_ms"],
        "latency_rate_per_s": latency["rate_per_s"],
        "messages": n,
        "partitions": partitions,
        "cpu": cpus.summary(),
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
        "passthrough": passthrough,
        "passthrough_gateway_hashes": {
            **hashed,
            "msgs_per_s": round(hashed["records"] / hashed["elapsed_s"], 1),
            "gateway_ratio": round(gw_rate / (hashed["records"] / hashed["elapsed_s"]), 5),
            "note": "the same pass-through with the gateway's C murmur2 picking partitions "
            "(aiokafka's pure-Python one costs about 3.5 us a keyed record): the ratio against "
            "a writer as fast as the gateway's own",
        },
        "gateway": _gateway_summary(gateway),
        "decision_caches": caches,
        "latency": latency,
        "complete": not problems,
        "checks": checks,
    }
    if cost is not None:
        report["metrics_cost"] = cost
    if transactions is not None:
        report["transactions_cost"] = transactions
    if floor is not None:
        report["runner_floor"] = floor
    if problems:
        report["problems"] = problems
        raise BenchError("completeness checks failed: " + "; ".join(problems), report)
    return report


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate, listing every run's rate and all their problems."""
    rates = [run["records"] / run["elapsed_s"] for run in runs]
    median = sorted(range(len(runs)), key=rates.__getitem__)[len(runs) // 2]
    return runs[median] | {
        "runs_msgs_per_s": [round(rate, 1) for rate in rates],
        "problems": [problem for run in runs for problem in run["problems"]],
    }


def _gateway_summary(done: dict[str, Any]) -> dict[str, Any]:
    records, elapsed, busy = done["records"], done["elapsed_s"], done["processor_s"]
    return {
        "records": records,
        "requests": done["requests"],
        "responses": done["responses"],
        "other_inputs": done["other_inputs"],
        "elapsed_s": round(elapsed, 3),
        "batches": done["batches"],
        "records_per_batch": round(records / max(done["batches"], 1), 1),
        "audit_out": done["audit_out"],
        "routed_out": done["routed_out"],
        "processor_us_per_record": round(busy / records * 1e6, 1),
        "other_us_per_record": round((elapsed - busy) / records * 1e6, 1),
        "gc_us_per_record": round(done["gc_s"] / records * 1e6, 1),
        **_idle(done),
        **_stages(done),
    }


def _stages(done: dict[str, Any]) -> dict[str, Any]:
    """Wall time per record of each stage of the runner's batches, and of the rest of its loop
    (fetching, the audit chains' and caps' preparation, the loop itself)."""
    stages = done.get("stages_s") or {}
    if not stages:
        return {}
    records = done["records"]
    rest = done["elapsed_s"] - sum(stages.values())
    per_record = {stage: round(s / records * 1e6, 1) for stage, s in sorted(stages.items())}
    return {"stages_us_per_record": per_record | {"rest": round(rest / records * 1e6, 1)}}


def _idle(done: dict[str, Any]) -> dict[str, float]:
    """The worker's CPU time per record and the wall time it was not on the CPU: waiting for
    input, the broker or its core (the rest of "other" is the runner's and the client's work)."""
    records, elapsed, cpu = done["records"], done["elapsed_s"], done["cpu_s"]
    return {
        "cpu_us_per_record": round(cpu / records * 1e6, 1),
        "off_cpu_us_per_record": round(max(elapsed - cpu, 0.0) / records * 1e6, 1),
    }


# --- phases -----------------------------------------------------------------------------------


_METRICS_RUNS = 5
"""Throughput runs with metrics and without, alternately; the median of each counts."""
_TRANSACTION_RUNS = 3
"""The same for transactions, on Apache Kafka."""


async def _alternating_cost(
    broker: BrokerUnderTest,
    flag: str,
    runs: int,
    config: BenchConfig,
    cpus: CpuPlan,
    limit_s: float,
) -> dict[str, Any]:
    """The gateway's throughput without and with the worker's ``flag`` (``--metrics``: its
    metrics, scraped every second; ``--transactions``), on fresh topics each time, alternating
    so that drift on a shared machine hits both alike."""
    codec = Codec.default()
    partitions = config.partitions or min(max(4, math.ceil(config.messages / _PER_PARTITION)), 64)
    rates: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    for with_flag in (False, True) * runs:
        topics = fresh_topics(broker, partitions)
        inputs = encode_requests(config.messages, config.seed, topics, broker.bootstrap, codec)
        done = await _throughput(
            broker.bootstrap, topics, inputs, cpus, limit_s, codec, [flag] if with_flag else []
        )
        rates[with_flag].append(done["records"] / done["elapsed_s"])
        cpu[with_flag].append(done["cpu_s"] / done["records"] * 1e6)
    without, with_ = (_median(rates[k]) for k in (False, True))
    cpu_without, cpu_with = (_median(cpu[k]) for k in (False, True))
    return {
        "without_msgs_per_s": round(without, 1),
        "with_msgs_per_s": round(with_, 1),
        "cost": round(1 - with_ / without, 4),
        "cpu_us_per_record_without": round(cpu_without, 1),
        "cpu_us_per_record_with": round(cpu_with, 1),
        "cpu_cost": round(cpu_with / cpu_without - 1, 4),
        "runs_without_msgs_per_s": [round(r, 1) for r in rates[False]],
        "runs_with_msgs_per_s": [round(r, 1) for r in rates[True]],
        "runs_cpu_us_without": [round(r, 1) for r in cpu[False]],
        "runs_cpu_us_with": [round(r, 1) for r in cpu[True]],
        "note": "throughput per run varies with the machine's other load; CPU time per record "
        "(the worker's own, from first batch to last commit) varies less",
    }


async def _throughput(
    bootstrap: str,
    topics: TopicNames,
    inputs: Inputs,
    cpus: CpuPlan,
    limit_s: float,
    codec: Codec,
    flags: list[str],
    warm_up: Inputs | None = None,
) -> dict[str, Any]:
    """The ``done`` event of one gateway worker (with ``flags``) that consumes ``inputs`` from
    fresh ``topics``, with the providers answering; after ``warm_up`` first, if given, which it
    processes untimed."""
    await produce(bootstrap, (warm_up or inputs).messages)
    args = ["--bootstrap", bootstrap, "--prefix", topics.prefix, *flags]
    args += ["--requests", str(len(inputs.messages)), "--timeout", str(limit_s)]
    if warm_up is not None:
        args += ["--warm-up", str(len(warm_up.messages))]
    stop_providers = asyncio.Event()
    providers = asyncio.create_task(serve_inboxes(bootstrap, topics, codec, stop_providers))
    try:
        async with worker_process("gateway", *args, cpu=cpus.worker) as worker:
            await worker.event("ready", limit_s)
            if warm_up is not None:
                await worker.event("warmed", limit_s)
                await produce(bootstrap, inputs.messages)
                worker.proceed()
            done = await worker.event("done", limit_s)
            worker.request_stop()
            await worker.event("stopped", limit_s)
    finally:
        stop_providers.set()
        await providers
    return done


_REALISTIC_SHAPES = 3
"""Request shapes per kind and purpose in the realistic mix."""


async def _cache_phases(
    config: BenchConfig,
    cpus: CpuPlan,
    limit_s: float,
    passthrough_rate: float,
    cold: dict[str, Any],
) -> dict[str, Any]:
    """The gateway's throughput with its decision caches cold (the main phase, ``cold``), warm
    (the same kinds of request processed once before), and on a realistic mix (each kind and
    purpose asked in a few ways only, from a cold start). Each runs on an embedded broker of its
    own, as the pass-through and the main phase did: one that holds the earlier phases' topics
    serves them measurably slower (the worker waits off its CPU several microseconds a record)."""
    codec, n = Codec.default(), config.messages
    partitions = min(max(4, math.ceil(2 * n / _PER_PARTITION)), 64)  # warm-up and measured
    async with _fresh_broker(partitions) as broker:
        topics = fresh_topics(broker, partitions)
        warm_up = encode_requests(n, config.seed, topics, broker.bootstrap, codec)
        inputs = encode_requests(n, config.seed, topics, broker.bootstrap, codec)
        warm = await _throughput(
            broker.bootstrap, topics, inputs, cpus, limit_s, codec, [], warm_up
        )
    partitions = min(max(4, math.ceil(n / _PER_PARTITION)), 64)
    async with _fresh_broker(partitions) as broker:
        topics = fresh_topics(broker, partitions)
        shaped = encode_requests(
            n, config.seed, topics, broker.bootstrap, codec, shapes=_REALISTIC_SHAPES
        )
        realistic = await _throughput(broker.bootstrap, topics, shaped, cpus, limit_s, codec, [])

    def summary(done: dict[str, Any], mix: str) -> dict[str, Any]:
        rate = done["records"] / done["elapsed_s"]
        classes = done["classes"]
        return {
            "mix": mix,
            "gateway_msgs_per_s": round(rate, 1),
            "ratio": round(rate / passthrough_rate, 5),
            "processor_us_per_record": round(done["processor_s"] / done["records"] * 1e6, 1),
            **_idle(done),
            "request_plans_compiled": classes["request_plans"],
            "request_hit_rate": round(classes["request_plan_hits"] / max(done["requests"], 1), 3),
            "response_plans_compiled": classes["response_plans"],
            "response_hit_rate": round(
                classes["response_plan_hits"] / max(done["responses"], 1), 3
            ),
        }

    random_mix = "random field subsets (the traffic generator's default)"
    return {
        "cold": summary(cold, random_mix),
        "warm": summary(warm, random_mix + ", after the same kinds of request once"),
        "realistic": summary(realistic, f"{_REALISTIC_SHAPES} shapes per kind and purpose"),
    }


@contextlib.asynccontextmanager
async def _fresh_broker(partitions: int) -> AsyncIterator[EmbeddedBroker]:
    """An embedded broker of its own for one phase, stopped after it."""
    broker = EmbeddedBroker(partitions=partitions)
    broker.start()
    try:
        await wait_until_ready(broker.bootstrap)
        yield broker
    finally:
        broker.stop()


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


async def _passthrough_phase(
    broker: EmbeddedBroker,
    inputs: Inputs,
    partitions: int,
    cpus: CpuPlan,
    limit_s: float,
    *,
    gateway_hashes: bool = False,
) -> dict[str, Any]:
    """One pass-through run: aiokafka as it ships, its own pure-Python murmur2 picking each
    keyed record's partition; with ``gateway_hashes``, the gateway's C murmur2 instead."""
    name = f"bench{uuid.uuid4().hex[:8]}"
    source, sink = f"{name}.in", f"{name}.out"
    broker.create_topics([source, sink], partitions)
    n = len(inputs.messages)
    await produce(
        broker.bootstrap, [OutputMessage(source, m.key, m.value) for m in inputs.messages]
    )
    args = ["--bootstrap", broker.bootstrap, "--input", source, "--output", sink]
    args += ["--group", f"{name}-group", "--expect", str(n), "--timeout", str(limit_s)]
    pure_python = not gateway_hashes
    async with worker_process(
        "passthrough", *args, cpu=cpus.worker, pure_python=pure_python
    ) as worker:
        await worker.event("ready", limit_s)
        done = await worker.event("done", limit_s)
    low, high = await watermarks(broker.bootstrap, [source, sink], partitions)
    problems = []
    if done["records"] != n or sum(high[sink].values()) != n:
        problems.append(
            f"pass-through forwarded {done['records']} records and {sum(high[sink].values())} "
            f"reached its output, of {n}"
        )
    problems += deleted(low, [source, sink])
    return {
        "records": done["records"],
        "elapsed_s": round(done["elapsed_s"], 3),
        "batches": done["batches"],
        "problems": problems,
    }


async def _gateway_phases(
    bootstrap: str,
    topics: TopicNames,
    inputs: Inputs,
    config: BenchConfig,
    cpus: CpuPlan,
    limit_s: float,
    codec: Codec,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The throughput phase, then the latency phase, on one gateway worker."""
    n = len(inputs.messages)
    await produce(bootstrap, inputs.messages)
    args = ["--bootstrap", bootstrap, "--prefix", topics.prefix, "--requests", str(n)]
    args += ["--timeout", str(limit_s)]
    if config.profile is not None:
        args += ["--profile", str(config.profile)]
    stop_providers = asyncio.Event()
    providers = asyncio.create_task(serve_inboxes(bootstrap, topics, codec, stop_providers))
    try:
        async with worker_process("gateway", *args, cpu=cpus.worker) as worker:
            await worker.event("ready", limit_s)
            done = await worker.event("done", limit_s)
            capacity = done["requests"] / done["elapsed_s"]
            rate = config.latency_rate or min(_MAX_LATENCY_RATE, _LATENCY_SHARE * capacity)
            count = config.latency_messages or min(2000, n)
            traffic = await run_traffic(
                bootstrap,
                rate_per_s=rate,
                count=count,
                seed=config.seed + 1,
                topics=topics,
                reply_timeout_s=10.0,
                codec=codec,
            )
            worker.request_stop()
            stopped = await worker.event("stopped", limit_s)
    finally:
        stop_providers.set()
        answered = await providers
    summary = traffic.summary()
    latency = {
        "requests": traffic.sent,
        "rate_per_s": round(rate, 1),
        "p50_ms": summary["latency_ms"]["p50"],
        "p95_ms": summary["latency_ms"]["p95"],
        "p99_ms": summary["latency_ms"]["p99"],
        "timeouts": traffic.timeouts,
        "outcomes": summary["outcomes"],
        "note": _LATENCY_NOTE,
    }
    return done, latency, {"gateway_records": stopped["records"], "answered": answered}
