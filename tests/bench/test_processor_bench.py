"""``python -m gateway.bench.processor``: the processor's cost per record, without Kafka."""

from __future__ import annotations

import json
import subprocess
import sys

from gateway.bench.processor import measure


def test_every_request_and_every_routed_requests_response_is_processed_and_timed() -> None:
    report = measure(300)

    assert report["requests"] == 300
    assert 0 < report["responses"] < 300  # the traffic mix has denials, which get no response
    assert report["dead_letters"] == 0
    assert report["request_us"] > 0 and report["response_us"] > 0
    assert report["reference"]["request_us"] > 0 and report["reference"]["response_us"] > 0
    assert report["speedup"]["request"] > 0
    classes = report["decision_classes"]
    assert 0 < classes["compiled"] < 300 and 0 < classes["hits"] < 300
    assert classes["hit_rate"] == round(classes["hits"] / 300, 3)
    responded = classes["responses"]
    assert 0 < responded["compiled"] < report["responses"] and responded["hits"] > 0
    assert responded["hit_rate"] == round(responded["hits"] / report["responses"], 3)
    assert set(report["audit_record_codec_us"]) == {
        "generated_write",
        "fastavro_write",
        "generated_read",
        "c_read",
        "fastavro_read",
    }


def test_the_command_prints_one_json_report_and_refuses_a_count_below_one() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "gateway.bench.processor", "--messages", "50"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["requests"] == 50

    refused = subprocess.run(
        [sys.executable, "-m", "gateway.bench.processor", "--messages", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert "--messages must be at least 1" in refused.stderr
