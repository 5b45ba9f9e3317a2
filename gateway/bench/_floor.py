"""The runner floor phase of ``gateway bench``: the runner's own cost per record.

The same requests (and their answers) go, alternately on fresh topics of the same broker,
through the transport floor (the gateway's precomputed outputs written with its writer) and
through the real runner with a processor that returns those outputs at no cost (see
:mod:`gateway.bench._replay`); the medians' difference is what the runner's loop adds.
"""

from __future__ import annotations

from typing import Any

from gateway.bench._process import worker_process
from gateway.bench._workload import encode_requests, produce
from gateway.bench.errors import BenchError
from gateway.envelope.codec import Codec
from gateway.testing import BrokerUnderTest, fresh_topics

__all__ = ["FLOOR_RUNS", "runner_floor"]

FLOOR_RUNS = 3
"""Runs of each side, alternating; the median of each counts."""
_SIDES = ("passthrough", "runner")


async def runner_floor(
    broker: BrokerUnderTest,
    *,
    messages: int,
    seed: int,
    partitions: int,
    cpu: int | None,
    limit_s: float,
    runs: int = FLOOR_RUNS,
) -> dict[str, Any]:
    """Microseconds per input record of the floor, of the runner, and their difference."""
    codec = Codec.default()
    wall: dict[str, list[float]] = {side: [] for side in _SIDES}
    cpu_us: dict[str, list[float]] = {side: [] for side in _SIDES}
    counts: dict[str, Any] = {}
    for side in _SIDES * runs:
        topics = fresh_topics(broker, partitions)
        inputs = encode_requests(messages, seed, topics, broker.bootstrap, codec)
        await produce(broker.bootstrap, inputs.messages)
        args = ["--bootstrap", broker.bootstrap, "--prefix", topics.prefix, "--through", side]
        args += ["--timeout", str(limit_s)]
        async with worker_process("floor", *args, cpu=cpu) as worker:
            ready = await worker.event("ready", limit_s)
            done = await worker.event("done", limit_s)
        records = ready["requests"] + ready["responses"]
        if done["records"] != records:
            raise BenchError(f"the {side} side consumed {done['records']} of {records} records")
        wall[side].append(done["elapsed_s"] / records * 1e6)
        cpu_us[side].append(done["cpu_s"] / records * 1e6)
        counts = {
            "records": records,
            "requests": ready["requests"],
            "responses": ready["responses"],
            "outputs_per_record": round((ready["audit"] + ready["routed"]) / records, 3),
        }
    floor, runner = (_median(wall[side]) for side in _SIDES)
    floor_cpu, runner_cpu = (_median(cpu_us[side]) for side in _SIDES)
    return counts | {
        "passthrough_us_per_record": round(floor, 2),
        "runner_us_per_record": round(runner, 2),
        "overhead_us_per_record": round(runner - floor, 2),
        "passthrough_cpu_us_per_record": round(floor_cpu, 2),
        "runner_cpu_us_per_record": round(runner_cpu, 2),
        "overhead_cpu_us_per_record": round(runner_cpu - floor_cpu, 2),
        "runs_passthrough_us": [round(us, 2) for us in wall["passthrough"]],
        "runs_runner_us": [round(us, 2) for us in wall["runner"]],
        "runs_passthrough_cpu_us": [round(us, 2) for us in cpu_us["passthrough"]],
        "runs_runner_cpu_us": [round(us, 2) for us in cpu_us["runner"]],
        "note": "per input record, first batch in hand to last commit; both sides write the "
        "gateway's precomputed outputs (audit records acknowledged before routed messages) and "
        "look them up once per record; the runner's processor costs nothing",
    }


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]
