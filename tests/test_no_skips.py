"""CI runs with ``GATEWAY_TEST_NO_SKIPS=1``: a test skipped for want of a component fails there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

SAMPLE = """
import pytest

def test_needs_a_missing_component():
    pytest.skip("promtool missing")

@pytest.mark.xfail(reason="known")
def test_expected_to_fail():
    assert False
"""


def _run(tmp_path: Path, no_skips: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(SAMPLE, encoding="utf-8")
    env = {**os.environ, "GATEWAY_TEST_NO_SKIPS": no_skips, "PYTHONPATH": str(TESTS)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("no_skips", "summary"), [("1", "1 failed, 1 xfailed"), ("", "1 skipped, 1 xfailed")]
)
def test_a_skip_fails_only_when_no_skips_are_allowed(
    tmp_path: Path, no_skips: str, summary: str
) -> None:
    result = _run(tmp_path, no_skips)

    assert summary in result.stdout, result.stdout + result.stderr
    if no_skips:
        assert "this test was skipped: Skipped: promtool missing" in result.stdout
