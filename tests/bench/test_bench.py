"""`gateway bench` as users run it, and the batched writer it shares with the gateway runner."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console

from gateway.cli.bench import render_report
from gateway.exchange.messages import OutputMessage
from gateway.transport.produce import send_and_wait_all

pytestmark = pytest.mark.kafka

_KEYS = ("passthrough_msgs_per_s", "gateway_msgs_per_s", "ratio", "p50_ms", "p99_ms")


def bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    """One small benchmark run, shared by the tests that read its report."""
    result = bench("--messages", "500", "--latency-messages", "200", "--runner-floor", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    parsed = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert isinstance(parsed, dict)
    return parsed


def test_the_json_report_has_positive_rates_latencies_and_their_ratio(
    report: dict[str, Any],
) -> None:
    for key in _KEYS:
        assert report[key] > 0, key
    expected = report["gateway_msgs_per_s"] / report["passthrough_msgs_per_s"]
    assert report["ratio"] == pytest.approx(expected, rel=1e-3, abs=1e-5)
    assert report["messages"] == 500
    assert report["latency_rate_per_s"] > 0


def test_the_pass_through_rate_is_the_median_of_three_runs(report: dict[str, Any]) -> None:
    runs = report["passthrough"]["runs_msgs_per_s"]

    assert len(runs) == 3
    assert report["passthrough_msgs_per_s"] == pytest.approx(sorted(runs)[1], abs=0.1)


def test_the_pass_through_is_measured_as_aiokafka_ships_and_with_the_gateways_hashes(
    report: dict[str, Any],
) -> None:
    hashed = report["passthrough_gateway_hashes"]

    assert len(hashed["runs_msgs_per_s"]) == 3
    assert hashed["msgs_per_s"] == pytest.approx(sorted(hashed["runs_msgs_per_s"])[1], abs=0.1)
    assert hashed["gateway_ratio"] == pytest.approx(
        report["gateway_msgs_per_s"] / hashed["msgs_per_s"], rel=1e-3
    )


def test_every_message_made_it_through_both_phases(report: dict[str, Any]) -> None:
    checks, latency = report["checks"], report["latency"]
    sent = 500 + latency["requests"]

    assert report["complete"] is True
    assert "problems" not in report
    assert report["passthrough"]["records"] == 500
    assert report["gateway"]["requests"] == 500
    assert checks["requests"] == checks["replies"] == sent
    assert checks["routed"] == checks["responses"]
    assert checks["audit_records"] == checks["gateway_records"]
    assert checks["audit_records"] == checks["requests"] + checks["responses"]
    assert checks["dead_letters"] == 0
    assert latency["timeouts"] == 0


def test_the_table_names_each_phase_and_what_the_checks_count(report: dict[str, Any]) -> None:
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(render_report(report))
    text = console.export_text()

    assert max(len(line) for line in text.splitlines()) <= 80
    assert "500 requests per throughput phase, 200 in the latency phase" in text
    for phase in (
        "1. pass-through",
        "2. gateway",
        "3. latency: 200 more requests",
        "4. decision caches",
    ):
        assert phase in text
    assert "checks: all phases (500 + 200 requests)" in text
    assert "6. runner floor" in text and "runner's own" in text


def test_the_runner_floor_reports_floor_runner_and_their_difference_over_the_same_records(
    report: dict[str, Any],
) -> None:
    floor, gateway = report["runner_floor"], report["gateway"]

    assert floor["requests"] == 500
    assert floor["responses"] == gateway["responses"]  # the same requests, routed alike
    assert floor["records"] == floor["requests"] + floor["responses"]
    assert floor["outputs_per_record"] >= 1  # at least the audit record of each input
    for side in ("passthrough", "runner"):
        runs = floor[f"runs_{side}_us"]
        assert len(runs) == len(floor[f"runs_{side}_cpu_us"]) == 3
        assert all(us > 0 for us in runs)
        assert floor[f"{side}_us_per_record"] == pytest.approx(sorted(runs)[1], abs=0.01)
        cpu = sorted(floor[f"runs_{side}_cpu_us"])[1]
        assert floor[f"{side}_cpu_us_per_record"] == pytest.approx(cpu, abs=0.01)
    overhead = floor["runner_us_per_record"] - floor["passthrough_us_per_record"]
    assert floor["overhead_us_per_record"] == pytest.approx(overhead, abs=0.011)
    cpu_overhead = floor["runner_cpu_us_per_record"] - floor["passthrough_cpu_us_per_record"]
    assert floor["overhead_cpu_us_per_record"] == pytest.approx(cpu_overhead, abs=0.011)


def test_the_ratio_is_reported_with_cold_and_warm_decision_caches_and_a_realistic_mix(
    report: dict[str, Any],
) -> None:
    caches = report["decision_caches"]
    cold, warm, realistic = caches["cold"], caches["warm"], caches["realistic"]

    assert cold["ratio"] == pytest.approx(report["ratio"], rel=1e-3, abs=1e-5)
    for phase in (cold, warm, realistic):
        assert phase["gateway_msgs_per_s"] > 0 and phase["ratio"] > 0
        assert 0 < phase["request_hit_rate"] <= 1 and 0 < phase["response_hit_rate"] <= 1
    # warm: the measured requests are of kinds already seen, so few plans are new
    assert warm["request_plans_compiled"] < cold["request_plans_compiled"] / 4
    assert warm["request_hit_rate"] > cold["request_hit_rate"]
    # a handful of shapes per purpose: few plans, most requests take one
    assert realistic["request_plans_compiled"] < cold["request_plans_compiled"]
    assert realistic["request_hit_rate"] > cold["request_hit_rate"]


def test_each_gateway_phase_splits_its_time_into_cpu_and_off_cpu(report: dict[str, Any]) -> None:
    """What the worker spent on its core, and the wall time it waited: together its elapsed
    time, which the throughput is measured over."""
    main = report["gateway"]
    wall_us = main["elapsed_s"] / main["records"] * 1e6
    assert main["cpu_us_per_record"] + main["off_cpu_us_per_record"] == pytest.approx(
        wall_us, rel=0.02, abs=0.2
    )
    for phase in report["decision_caches"].values():
        assert phase["cpu_us_per_record"] >= phase["processor_us_per_record"] > 0
        assert phase["off_cpu_us_per_record"] >= 0
        wall_us = 1e6 / phase["gateway_msgs_per_s"]
        assert phase["cpu_us_per_record"] + phase["off_cpu_us_per_record"] >= wall_us * 0.98


def test_the_gateway_phase_splits_its_wall_time_by_the_runners_stages(
    report: dict[str, Any],
) -> None:
    """Processing, the audit write, the routed write and the commit of every batch, and the rest
    of the runner's loop: together the elapsed time."""
    main = report["gateway"]
    stages = main["stages_us_per_record"]
    assert set(stages) == {"process", "audit_write", "produce", "commit", "rest"}
    assert all(us >= 0 for us in stages.values())
    wall_us = main["elapsed_s"] / main["records"] * 1e6
    assert sum(stages.values()) == pytest.approx(wall_us, rel=0.02, abs=0.5)
    assert stages["process"] >= main["processor_us_per_record"] * 0.95


def test_the_worker_cpu_is_reported(report: dict[str, Any]) -> None:
    cpu = report["cpu"]

    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) > 1:
        assert cpu["pinned"] is True
        assert cpu["worker"] not in cpu["driver"]
    else:
        assert cpu["pinned"] is False


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs CPU affinity")
def test_an_unusable_cpu_fails_with_a_clear_message_and_exit_code_1() -> None:
    result = bench("--messages", "10", "--cpu", "4096", timeout=60)

    assert result.returncode == 1
    assert "CPU 4096 is not available" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_batched_writer_picks_the_partition_send_would_pick(
    topic_factory: Callable[..., str],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
    consumer_factory: Callable[..., Awaitable[AIOKafkaConsumer]],
) -> None:
    batched, single = topic_factory(partitions=5), topic_factory(partitions=5)
    producer = await producer_factory(acks="all", linger_ms=2)
    keys = [f"request-{i}".encode() for i in range(200)]

    await send_and_wait_all(producer, [OutputMessage(batched, k, b"v") for k in keys])
    for key in keys:
        await producer.send_and_wait(single, b"v", key=key)

    async def partitions(topic: str) -> dict[bytes, int]:
        consumer = await consumer_factory(topic)
        found: dict[bytes, int] = {}
        while len(found) < len(keys):
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                found.update({r.key: r.partition for r in records})
        return found

    assert await partitions(batched) == await partitions(single)
