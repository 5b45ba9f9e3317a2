"""The audit benchmark runs end to end and reports what it measured."""

from __future__ import annotations

from gateway.bench.audit import run_bench


def test_the_benchmark_seals_verifies_and_reports_on_a_small_log() -> None:
    result = run_bench(records=1_000, partitions=2)

    assert result.records == 1_000
    assert result.messages == 1_000  # a checkpoint needs 1000 records in one partition
    assert result.encode_us > 0 and result.seal_us > 0
    assert result.verify_memory_per_s > 0 and result.verify_file_per_s > 0
    assert [line.split()[0] for line in result.describe()[1:]] == [
        "plain",
        "seal",
        "verify",
        "verify",
    ]
