"""A broker nobody can reach: every command says so in one line and exits 4, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def nowhere() -> str:
    """HOST:PORT where nothing listens (a port just released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"127.0.0.1:{port}"


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "gateway", "run"],
        ["-m", "gateway", "traffic", "--count", "3"],
        ["-m", "gateway", "departments", "--departments", "ho"],
        ["-m", "consumers.departments", "--departments", "ho"],
        ["-m", "gateway", "audit", "index", "--once", "--audit-db", "sqlite:///:memory:"],
        ["-m", "gateway", "deadletter", "list"],
        ["-m", "gateway", "deadletter", "show", "0:0"],
        ["-m", "gateway", "deadletter", "replay", "0:0"],
    ],
    ids=" ".join,
)
def test_an_unreachable_broker_is_one_line_on_stderr_and_exit_status_4(
    command: list[str], nowhere: str
) -> None:
    result = subprocess.run(
        [sys.executable, *command, "--bootstrap", nowhere],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GATEWAY_BOOTSTRAP": ""},
    )

    errors = [line for line in result.stderr.splitlines() if "ERROR" in line or "error" in line]
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    assert "Unclosed" not in result.stderr
    assert errors == [next(e for e in errors if e.startswith("error [transport_error]"))]
    assert nowhere in errors[0]


def test_verbose_adds_the_traceback_to_the_one_line(nowhere: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "traffic", "--count", "1", "--bootstrap", nowhere, "-v"],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 4
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error [transport_error]")
