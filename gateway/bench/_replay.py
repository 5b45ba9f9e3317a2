"""The runner's own cost: the gateway's outputs computed before timing, then replayed.

Before anything is timed, the pre-produced requests are read back with their coordinates and a
real processor (built as ``gateway run`` builds it) processes them one by one; every request it
routes to an inbox is answered from the synthetic datasets, those responses are produced, read
back and processed too. That gives, for every input record, the audit records and routed
messages the gateway writes for it: the same bytes, partitions and headers.

Then, timed from the first batch in hand to the last commit, one of:

- :func:`replay_floor`, the transport floor: a consumer configured as the runner's reads the
  same input topics; per batch the records' precomputed outputs are written with the runner's
  writer, the audit records first and acknowledged, then the routed messages, then the offsets
  are committed (the gateway's order, so its writes cost the same round trips);
- :func:`replay_runner`: a :class:`~gateway.transport.runner.GatewayRunner` whose processor's
  ``process_batch`` returns those outputs. Both look the outputs up by coordinates, once per
  record, so what is left between the two is the runner's own work.
"""

from __future__ import annotations

import asyncio
import cProfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from gateway.bench._workload import produce
from gateway.bench.errors import BenchError
from gateway.departments import answer_from_dataset, build_response
from gateway.departments.answers import index_records
from gateway.embedded.identity import EMBEDDED_SESSION_TIMEOUT_MS
from gateway.envelope.datasets import SUBJECT_IDENTIFIER_BY_PROVIDER
from gateway.envelope.models import RoutedRequest
from gateway.exchange.messages import BatchOutputs, InputMessage, OutputMessage
from gateway.service import build_processor
from gateway.settings import GatewaySettings
from gateway.synthetic.datasets import DEFAULT_SIZE, generate
from gateway.transport.clients import input_consumer, output_producer
from gateway.transport.hooks import NoHooks
from gateway.transport.produce import send_and_wait_all
from gateway.transport.read_back import read_to_ends
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import READ_COMMITTED, TopicNames

__all__ = ["Replay", "precompute", "replay_floor", "replay_runner"]

Coordinates = tuple[str, int, int]
Outputs = tuple[list[OutputMessage], list[OutputMessage]]


@dataclass(slots=True)
class Replay:
    """The precomputed outputs of every input record, by ``(topic, partition, offset)``."""

    bootstrap: str
    settings: GatewaySettings
    topics: TopicNames
    outputs: dict[Coordinates, Outputs] = field(default_factory=dict)
    requests: int = 0
    responses: int = 0

    @property
    def inputs(self) -> list[str]:
        """The topics the runner consumes, in its order."""
        topics = self.topics
        names = [
            t for d in self.settings.departments for t in (topics.requests(d), topics.responses(d))
        ]
        return [*names, topics.capped]

    def counts(self) -> dict[str, int]:
        audit = sum(len(a) for a, _ in self.outputs.values())
        routed = sum(len(r) for _, r in self.outputs.values())
        return {
            "requests": self.requests,
            "responses": self.responses,
            "audit": audit,
            "routed": routed,
        }


def _settings(bootstrap: str, prefix: str) -> GatewaySettings:
    return GatewaySettings(
        bootstrap=bootstrap,
        topic_prefix=prefix,
        instance_id="gateway-bench",
        group_id=f"{prefix}-gateway",
    )


async def precompute(bootstrap: str, prefix: str) -> Replay:
    """Every input's outputs, from the requests on the topics of ``prefix`` and their answers."""
    settings = _settings(bootstrap, prefix)
    topics = TopicNames(prefix)
    replay = Replay(bootstrap, settings, topics)
    processor = build_processor(settings)
    codec = processor.codec
    departments = settings.departments
    requests, audit_partitions = await _read_back(
        bootstrap, [topics.requests(d) for d in departments], topics.audit
    )
    processor.set_audit_layout(audit_partitions)
    now = datetime.now(UTC)

    def process(messages: Iterable[InputMessage]) -> list[OutputMessage]:
        routed_all = []
        for m in messages:
            out = processor.process_batch([m], now)
            if any(o.topic == topics.capped for o in out.routed):
                raise BenchError("the runner floor does not model capped forwards")
            replay.outputs[m.topic, m.partition, m.offset] = (out.audit, out.routed)
            routed_all += out.routed
        return routed_all

    routed = process(requests)
    replay.requests = len(requests)
    answer = {
        dept: answer_from_dataset(index_records(generate(dept, DEFAULT_SIZE), ident), ident)
        for dept, ident in SUBJECT_IDENTIFIER_BY_PROVIDER.items()
    }
    answers = []
    for m in routed:
        parsed = topics.parse(m.topic)
        if parsed is None or parsed[0] != "inbox":
            continue
        dept = parsed[1]
        request = codec.decode(m.value, RoutedRequest)
        response = build_response(request, answer[dept](request), responder=dept, codec=codec)
        answers.append(OutputMessage(topics.responses(dept), m.key, codec.encode(response)))
    await produce(bootstrap, answers)
    responses, _ = await _read_back(
        bootstrap, [topics.responses(d) for d in departments], topics.audit
    )
    process(responses)
    replay.responses = len(responses)
    return replay


async def _read_back(
    bootstrap: str, names: Sequence[str], audit: str
) -> tuple[list[InputMessage], int]:
    """Every record of ``names`` as the runner hands it to the processor, and the audit topic's
    partition count."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=READ_COMMITTED,
    )
    await consumer.start()
    try:
        audit_partitions = len(await _partitions(consumer, audit))  # before assign narrows it
        tps = []
        for name in names:
            tps += [TopicPartition(name, p) for p in sorted(await _partitions(consumer, name))]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        found = []
        async with asyncio.timeout(60):
            async for _, records in read_to_ends(consumer, ends):
                found += [
                    InputMessage(r.topic, r.partition, r.offset, r.key, r.value) for r in records
                ]
        return found, audit_partitions
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    partitions = consumer.partitions_for_topic(topic)
    if partitions is None:
        await consumer._client.force_metadata_update()  # no public way to refresh metadata
        partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise BenchError(f"topic {topic} has no partitions")
    return set(partitions)


# --- the two timed loops ----------------------------------------------------------------------


@dataclass(slots=True)
class Timing:
    """What one timed loop measured: first batch in hand to the last commit."""

    records: int = 0
    batches: int = 0
    audit_out: int = 0
    routed_out: int = 0
    first: float = 0.0
    first_cpu: float = 0.0
    last: float = 0.0
    last_cpu: float = 0.0

    def started(self) -> None:
        if not self.first:
            self.first, self.first_cpu = time.perf_counter(), time.process_time()

    def committed(self) -> None:
        self.last, self.last_cpu = time.perf_counter(), time.process_time()

    def summary(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "batches": self.batches,
            "audit_out": self.audit_out,
            "routed_out": self.routed_out,
            "elapsed_s": self.last - self.first,
            "cpu_s": self.last_cpu - self.first_cpu,
        }


async def replay_floor(replay: Replay, *, timeout_s: float) -> Timing:
    """The transport floor: consume, write each record's outputs, commit (see the module)."""
    settings = replay.settings
    producer = output_producer(replay.bootstrap, request_timeout_ms=10_000)
    consumer = input_consumer(
        *replay.inputs,
        bootstrap=replay.bootstrap,
        group_id=settings.group_id,
        max_records=settings.batch_max_records,
        wait_ms=settings.batch_timeout_ms,
        session_timeout_ms=EMBEDDED_SESSION_TIMEOUT_MS,
    )
    timing = Timing()
    total, outputs = len(replay.outputs), replay.outputs
    await producer.start()
    try:
        await consumer.start()
        try:
            deadline = time.monotonic() + timeout_s
            while not consumer.assignment():  # as GatewayRunner.wait_assigned
                if time.monotonic() > deadline:
                    raise BenchError("the floor's consumer was assigned no partitions")
                await asyncio.sleep(0.05)
            while timing.records < total:
                batch = await consumer.getmany(
                    timeout_ms=settings.batch_timeout_ms, max_records=settings.batch_max_records
                )
                if not batch:
                    continue
                timing.started()
                audit: list[OutputMessage] = []
                routed: list[OutputMessage] = []
                commits = {}
                for tp, records in batch.items():
                    for r in records:
                        a, o = outputs[r.topic, r.partition, r.offset]
                        audit += a
                        routed += o
                    commits[tp] = records[-1].offset + 1
                    timing.records += len(records)
                await send_and_wait_all(producer, audit)
                await send_and_wait_all(producer, routed)
                await consumer.commit(commits)
                timing.committed()
                timing.batches += 1
                timing.audit_out += len(audit)
                timing.routed_out += len(routed)
        finally:
            await consumer.stop()
    finally:
        await producer.stop()
    return timing


class _Replayed:
    """``process_batch`` of the runner's processor: each record's precomputed outputs; sets
    ``done`` once every input was handed over."""

    def __init__(self, outputs: Mapping[Coordinates, Outputs]) -> None:
        self._outputs = outputs
        self._total = len(outputs)
        self.records = 0
        self.done = asyncio.Event()

    def __call__(self, messages: Iterable[InputMessage], now: datetime) -> BatchOutputs:
        out = BatchOutputs()
        audit, routed, outputs = out.audit, out.routed, self._outputs
        n = 0
        for m in messages:
            a, o = outputs[m.topic, m.partition, m.offset]
            audit += a
            routed += o
            n += 1
        self.records += n
        if self.records >= self._total:
            self.done.set()  # the runner writes and commits this batch, then returns
        return out


class _Clock(NoHooks):
    """Runner hooks that time the loop: the first batch read to the last commit."""

    def __init__(self, timing: Timing) -> None:
        self._timing = timing

    def batch_read(self, batch: Mapping[TopicPartition, Sequence[Any]]) -> None:
        self._timing.started()

    def committed(self, offsets: Mapping[TopicPartition, int]) -> None:
        self._timing.committed()


async def replay_runner(replay: Replay, *, timeout_s: float, profile: str | None = None) -> Timing:
    """The runner with a zero-cost processor (see the module); ``profile``: cProfile stats of
    the timed loop to this file."""
    settings = replay.settings
    processor = build_processor(settings)
    replayed = _Replayed(replay.outputs)
    processor.process_batch = replayed  # type: ignore[method-assign]  # the zero-cost stand-in
    timing = Timing()
    runner = GatewayRunner(
        processor,
        bootstrap=replay.bootstrap,
        topics=replay.topics,
        departments=settings.departments,
        group_id=settings.group_id,
        batch_max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
        session_timeout_ms=EMBEDDED_SESSION_TIMEOUT_MS,
        hooks=_Clock(timing),
    )
    await runner.start()
    try:
        await runner.wait_assigned(timeout_s)
        profiler = cProfile.Profile() if profile is not None else None
        if profiler is not None:
            profiler.enable()
        async with asyncio.timeout(timeout_s):
            await runner.run(replayed.done)
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile)
    finally:
        await runner.stop()
    stats = runner.stats
    if stats.records_in < len(replay.outputs):
        raise BenchError("the runner stopped before its last batch's outputs were written")
    timing.records, timing.batches = stats.records_in, stats.batches
    timing.audit_out, timing.routed_out = stats.audit_out, stats.routed_out
    return timing
