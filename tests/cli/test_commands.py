"""The `gateway` command as users run it: real processes, real broker, real exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest


def gateway(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_help_lists_the_commands() -> None:
    result = gateway("--help")

    assert result.returncode == 0
    for command in ("broker", "run", "demo"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("run", "--shard", "3/2"), {}, "shard must look like I/N"),
        (("run",), {"GATEWAY_DEPARTMENTS": "Home Office"}, "lower-case identifier"),
        (("run", "--policies", "/nonexistent"), {}, "not a directory of agreement files"),
        (("run",), {"GATEWAY_ENV": "production"}, "GATEWAY_SUBJECT_KEY_SECRET"),
        (("console",), {"GATEWAY_ENV": "production"}, "GATEWAY_CONSOLE_SECRET"),
    ],
)
def test_bad_settings_stop_the_gateway_with_a_clear_message_and_exit_code_2(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = gateway(*args, env=env)

    assert result.returncode in (2, 3)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_run_starts_on_its_own_embedded_broker_and_stops_cleanly_on_sigterm() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "gateway", "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            first = proc.stdout.readline() if proc.stdout else ""
            assert first.startswith("bootstrap=127.0.0.1:")
            time.sleep(1.0)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_the_demo_runs_the_whole_exchange_and_reports_every_request_answered() -> None:
    result = gateway("demo", "--seconds", "3", "--rate", "20", timeout=180)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Requests decided, per agreement" in result.stdout
    assert "0 timed out" in result.stdout
    assert "every request was answered as expected" in result.stdout
    assert "nhs-ho-status-check" in result.stdout
