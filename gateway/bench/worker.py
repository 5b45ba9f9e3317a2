"""The measured side of ``gateway bench``: ``python -m gateway.bench.worker MODE ...``.

The driver starts it as a child process, pinned to one CPU, so "on one core" holds literally.
It reports JSON lines on stdout (``ready``, ``done``, ``stopped``, or ``error``); logs go to
stderr. A line ``go`` on stdin tells a warmed gateway its measured inputs are in place; any
other line tells it to stop; stdin closing too, and then it exits within seconds even if the
broker (which lives in the driver) is gone.

- ``passthrough``: the gateway runner's loop with nothing in the middle. Consume the input topic
  with a consumer group, write every record unchanged to the output topic with the runner's
  writer, wait for the acknowledgements, commit.
- ``gateway``: a :class:`~gateway.transport.runner.GatewayRunner` built as ``gateway run``
  builds it. ``done`` comes once it has consumed the ``--requests`` pre-produced requests and
  a response for every request it routed; it then keeps serving (for latency probes) until told
  to stop.
- ``floor``: the runner's own cost (:mod:`gateway.bench._replay`). Every input's outputs are
  computed first; then either ``--through passthrough`` writes them with the runner's writer
  (the transport floor) or ``--through runner`` runs a GatewayRunner whose processor returns
  them at no cost.

Elapsed time runs from the first batch in hand to the commit of the batch that completes the
count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from gateway import collector
from gateway.bench._replay import precompute, replay_floor, replay_runner
from gateway.bench.errors import BenchError
from gateway.embedded.identity import EMBEDDED_SESSION_TIMEOUT_MS
from gateway.exchange.messages import BatchOutputs, InputMessage, OutputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.logs import configure_logging
from gateway.operations.metrics import GatewayMetrics
from gateway.service import build_processor
from gateway.settings import GatewaySettings
from gateway.transport.clients import input_consumer, output_producer
from gateway.transport.hooks import NoHooks
from gateway.transport.produce import send_and_wait_all
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

__all__ = ["main"]

_ORPHAN_GRACE_S = 5.0


class WorkerError(BenchError):
    """The measurement could not be completed; reported as an ``error`` event."""

    code = "bench_worker_failed"


def _emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def _pin(cpu: int | None) -> int | None:
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None
    os.sched_setaffinity(0, {cpu})
    return cpu


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event, go: asyncio.Event) -> None:
    """Set ``go`` for a line ``go`` on stdin and ``stop`` for any other. When stdin closes (the
    driver is done, or gone with the broker), set ``stop`` too and end this process a few
    seconds later whatever it waits for."""

    def notify(event: asyncio.Event) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has already closed
            loop.call_soon_threadsafe(event.set)

    def read() -> None:
        while line := sys.stdin.readline():
            notify(go if line.strip() == "go" else stop)
        notify(stop)
        time.sleep(_ORPHAN_GRACE_S)
        os._exit(3)

    threading.Thread(target=read, name="stdin-watch", daemon=True).start()


async def _within(awaitable: Any, limit_s: float, abort: asyncio.Event, what: str) -> None:
    """Await ``awaitable`` unless ``limit_s`` seconds pass or the driver says stop first."""
    task = asyncio.ensure_future(awaitable)
    aborted = asyncio.ensure_future(abort.wait())
    try:
        done, _ = await asyncio.wait(
            {task, aborted}, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        aborted.cancel()
    if task in done:
        task.result()
        return
    task.cancel()
    raise WorkerError(f"{what}: {'stopped by the driver' if abort.is_set() else 'timed out'}")


# --- pass-through -----------------------------------------------------------------------------


async def _passthrough(args: argparse.Namespace, abort: asyncio.Event) -> None:
    settings = GatewaySettings(bootstrap=args.bootstrap)  # batch size and poll timeout
    collector.settle()  # the garbage collector set as for the gateway, so they compare alike
    # The runner's clients (GatewayRunner.start()).
    producer = output_producer(args.bootstrap, request_timeout_ms=10_000)
    consumer = input_consumer(
        args.input,
        bootstrap=args.bootstrap,
        group_id=args.group,
        max_records=settings.batch_max_records,
        wait_ms=settings.batch_timeout_ms,
        session_timeout_ms=EMBEDDED_SESSION_TIMEOUT_MS,
    )
    await producer.start()
    try:
        await consumer.start()
        try:
            _emit("ready", cpu=args.pinned)
            count, first, batches = 0, 0.0, 0
            while count < args.expect:
                batch = await consumer.getmany(
                    timeout_ms=settings.batch_timeout_ms, max_records=settings.batch_max_records
                )
                if not batch:
                    continue
                if not count:
                    first = time.perf_counter()
                out: list[OutputMessage] = []
                commits = {}
                for tp, records in batch.items():
                    out += [OutputMessage(args.output, r.key, r.value) for r in records]
                    commits[tp] = records[-1].offset + 1
                await send_and_wait_all(producer, out)
                await consumer.commit(commits)
                count += len(out)
                batches += 1
            elapsed = time.perf_counter() - first
            _emit("done", records=count, batches=batches, elapsed_s=elapsed)
        finally:
            await consumer.stop()
    finally:
        await producer.stop()


# --- gateway ----------------------------------------------------------------------------------


class _GcClock:
    """Adds up the time the garbage collector runs, while installed."""

    def __init__(self) -> None:
        self.total_s = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.total_s += time.perf_counter() - self._started

    def __enter__(self) -> _GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


class _StageClock(NoHooks):
    """Adds up the wall time of each stage the runner times (``process``, ``audit_write``,
    ``produce``, ``commit``, ``transaction``), while ``counting``."""

    def __init__(self) -> None:
        self.total_s: dict[str, float] = {}
        self.counting = False

    @contextlib.contextmanager
    def _clock(self, stage: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            if self.counting:
                spent = time.perf_counter() - began
                self.total_s[stage] = self.total_s.get(stage, 0.0) + spent

    def timed(self, stage: str) -> AbstractContextManager[None]:
        return self._clock(stage)


class _Meter:
    """Wraps ``process_batch``: counts the records it is given (requests, responses, any other
    input) and the requests it routes, times the processor, and sets ``done`` once every request
    and a response to every routed request were processed."""

    def __init__(
        self,
        process: Callable[[Iterable[InputMessage], datetime], BatchOutputs],
        topics: TopicNames,
        departments: Iterable[str],
        requests: int,
    ) -> None:
        self._process = process
        self._request_topics = frozenset(topics.requests(d) for d in departments)
        self._response_topics = frozenset(topics.responses(d) for d in departments)
        self._inbox_topics = frozenset(topics.inbox(d) for d in departments)
        self._expected_requests = requests
        self.done = asyncio.Event()
        self.first = 0.0
        self.first_cpu = 0.0
        self.busy_s = 0.0
        self.requests = self.responses = self.others = self.routed = 0

    def restart(self, requests: int) -> None:
        """Count and time afresh, until ``requests`` more requests and their responses."""
        self._expected_requests = requests
        self.done = asyncio.Event()
        self.first = self.first_cpu = self.busy_s = 0.0
        self.requests = self.responses = self.others = self.routed = 0

    def __call__(self, messages: Iterable[InputMessage], now: datetime) -> BatchOutputs:
        batch = list(messages)
        started = time.perf_counter()
        if not self.first and batch:
            self.first, self.first_cpu = started, time.process_time()
        out = self._process(batch, now)
        self.busy_s += time.perf_counter() - started
        requests = sum(1 for m in batch if m.topic in self._request_topics)
        responses = sum(1 for m in batch if m.topic in self._response_topics)
        self.requests += requests
        self.responses += responses
        self.others += len(batch) - requests - responses
        self.routed += sum(1 for m in out.routed if m.topic in self._inbox_topics)
        if self.requests >= self._expected_requests and self.responses >= self.routed:
            self.done.set()  # the runner finishes this batch, commits, and returns
        return out

    @property
    def records(self) -> int:
        return self.requests + self.responses + self.others


async def _gateway(args: argparse.Namespace, abort: asyncio.Event, go: asyncio.Event) -> None:
    settings = GatewaySettings(
        bootstrap=args.bootstrap,
        topic_prefix=args.prefix,
        instance_id="gateway-bench",
        group_id=f"{args.prefix}-gateway",
    )
    topics = TopicNames(settings.topic_prefix)
    processor: ExchangeProcessor = build_processor(settings)
    collector.settle()  # as gateway run does
    first = args.warm_up or args.requests
    meter = _Meter(processor.process_batch, topics, settings.departments, first)
    processor.process_batch = meter  # type: ignore[method-assign]  # measuring instrument
    stages = _StageClock()
    # As gateway.service.running_gateway builds it (transactions: as on Apache Kafka).
    runner = GatewayRunner(
        processor,
        bootstrap=args.bootstrap,
        topics=topics,
        departments=settings.departments,
        group_id=settings.group_id,
        batch_max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
        session_timeout_ms=EMBEDDED_SESSION_TIMEOUT_MS,
        transactions=args.transactions,
        hooks=stages,
    )
    scraping = None
    if args.metrics:  # as gateway run has them, scraped every second
        metrics = GatewayMetrics()
        metrics.watch(runner)
        scraping = asyncio.create_task(_scrape_every_second(metrics, abort))
    await runner.start()
    try:
        await _within(runner.wait_assigned(args.timeout), args.timeout, abort, "joining the group")
        _emit("ready", cpu=args.pinned)
        if args.warm_up:  # the same kinds of request first, untimed: compiles their classes
            await _within(runner.run(meter.done), args.timeout, abort, "warm-up")
            meter.restart(args.requests)
            _emit("warmed", records=runner.stats.records_in)
            # The driver produces the measured requests now: the phase starts, as a cold one
            # does, with them all waiting rather than arriving as fast as the driver writes.
            await _within(go.wait(), args.timeout, abort, "waiting for the measured requests")
        before = runner.stats
        records_before, batches_before = before.records_in, before.batches
        audit_before, routed_before = before.audit_out, before.routed_out
        classes_before = _class_counts(processor)
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        task = asyncio.create_task(runner.run(meter.done))
        stages.counting = True
        try:
            with _GcClock() as gc_clock:
                await _within(asyncio.shield(task), args.timeout, abort, "throughput phase")
        except WorkerError as exc:
            meter.done.set()
            await task
            raise WorkerError(
                f"{exc}: the gateway consumed {meter.requests} of {args.requests} requests and "
                f"{meter.responses} of {meter.routed} responses"
            ) from None
        elapsed = time.perf_counter() - meter.first
        cpu_s = time.process_time() - meter.first_cpu
        stages.counting = False
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        stats = runner.stats
        if stats.records_in - records_before < meter.records:
            raise WorkerError("the gateway stopped before its last batch's outputs were written")
        _emit(
            "done",
            records=stats.records_in - records_before,
            requests=meter.requests,
            responses=meter.responses,
            other_inputs=meter.others,
            routed=meter.routed,
            batches=stats.batches - batches_before,
            elapsed_s=elapsed,
            cpu_s=cpu_s,
            processor_s=meter.busy_s,
            gc_s=gc_clock.total_s,
            stages_s=stages.total_s,
            audit_out=stats.audit_out - audit_before,
            routed_out=stats.routed_out - routed_before,
            classes={k: v - classes_before[k] for k, v in _class_counts(processor).items()},
        )
        serving = asyncio.Event()
        task = asyncio.create_task(runner.run(serving))
        await abort.wait()
        serving.set()
        await task
        _emit("stopped", records=runner.stats.records_in, batches=runner.stats.batches)
    finally:
        await runner.stop()
        if scraping is not None:
            scraping.cancel()


def _class_counts(processor: ExchangeProcessor) -> dict[str, int]:
    """Plans compiled and inputs that took one, of requests and of responses, so far."""
    requests, responses = processor.decision_classes, processor.response_classes
    return {
        "request_plans": requests.compiled,
        "request_plan_hits": requests.hits,
        "response_plans": responses.compiled,
        "response_plan_hits": responses.hits,
    }


async def _scrape_every_second(metrics: GatewayMetrics, abort: asyncio.Event) -> None:
    while not abort.is_set():
        metrics.exposition()
        await asyncio.sleep(1.0)


# --- runner floor -----------------------------------------------------------------------------


async def _floor(args: argparse.Namespace, abort: asyncio.Event) -> None:
    replay = await precompute(args.bootstrap, args.prefix)
    collector.settle()  # both sides alike, as gateway run sets it
    _emit("ready", cpu=args.pinned, **replay.counts())
    if args.through == "runner":
        timed = replay_runner(replay, timeout_s=args.timeout, profile=args.profile)
    else:
        timed = replay_floor(replay, timeout_s=args.timeout)
    task = asyncio.ensure_future(timed)
    await _within(task, args.timeout, abort, f"runner floor ({args.through})")
    _emit("done", through=args.through, **task.result().summary())


# --- entry point ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gateway.bench.worker", description=__doc__)
    modes = parser.add_subparsers(dest="mode", required=True)
    for name in ("passthrough", "gateway", "floor"):
        mode = modes.add_parser(name)
        mode.add_argument("--bootstrap", required=True)
        mode.add_argument("--cpu", type=int, help="pin this process to one CPU")
        mode.add_argument("--timeout", type=float, default=120.0, help="seconds per phase")
    passthrough, gateway = modes.choices["passthrough"], modes.choices["gateway"]
    passthrough.add_argument("--input", required=True)
    passthrough.add_argument("--output", required=True)
    passthrough.add_argument("--group", required=True)
    passthrough.add_argument("--expect", type=int, required=True, help="records to forward")
    gateway.add_argument("--prefix", required=True, help="topic prefix")
    gateway.add_argument("--requests", type=int, required=True, help="pre-produced requests")
    gateway.add_argument(
        "--warm-up",
        type=int,
        default=0,
        metavar="N",
        help="first process N requests (and their responses) untimed, say 'warmed', and wait for "
        "'go' on stdin",
    )
    gateway.add_argument("--profile", metavar="FILE", help="write cProfile stats of the run")
    gateway.add_argument("--metrics", action="store_true", help="with the gateway's metrics")
    gateway.add_argument(
        "--transactions", action="store_true", help="one Kafka transaction per batch and lane"
    )
    floor = modes.choices["floor"]
    floor.add_argument("--prefix", required=True, help="topic prefix")
    floor.add_argument("--through", choices=("passthrough", "runner"), required=True)
    floor.add_argument("--profile", metavar="FILE", help="cProfile stats of the runner's loop")
    return parser


async def _main(args: argparse.Namespace) -> None:
    abort, go = asyncio.Event(), asyncio.Event()
    _watch_stdin(asyncio.get_running_loop(), abort, go)
    if args.mode == "passthrough":
        await _within(_passthrough(args, abort), args.timeout, abort, "pass-through phase")
    elif args.mode == "floor":
        await _floor(args, abort)
    else:
        await _gateway(args, abort, go)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.pinned = _pin(args.cpu)
    configure_logging(level=logging.WARNING)
    try:
        asyncio.run(_main(args))
    except WorkerError as exc:
        _emit("error", message=str(exc))
        return 1
    except Exception as exc:  # reported to the driver, which fails the benchmark with it
        _emit("error", message=f"{type(exc).__name__}: {exc}")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
