"""The gateway runs without its extras: with neither faust-streaming (``departments``) nor
confluent-kafka (``local-kafka``) importable, the runtime path loads, an embedded broker is still
told by its cluster id, and a command that needs an extra says so in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gateway.embedded.broker import EmbeddedBroker

_WITHOUT_EXTRAS = """
import sys
sys.modules["confluent_kafka"] = None  # import confluent_kafka now fails, as when not installed
sys.modules["faust"] = None
"""


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS + code, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_runtime_path_imports_neither_extra() -> None:
    result = _run(
        "import gateway.service, gateway.cli.run, gateway.cli.traffic, gateway.cli.audit_index\n"
        "import gateway.cli.status, gateway.cli.console, gateway.cli.deadletter\n"
        "print('imported')"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"


@pytest.mark.kafka
def test_an_embedded_broker_is_recognised_without_confluent_kafka(broker: EmbeddedBroker) -> None:
    result = _run(
        "from gateway.embedded.identity import is_embedded\n"
        "print(is_embedded(sys.argv[1]), is_embedded('127.0.0.1:1'))",
        broker.bootstrap,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]


@pytest.mark.parametrize(
    ("command", "extra"),
    [(["broker"], "local-kafka"), (["departments", "--bootstrap", "127.0.0.1:1"], "departments")],
    ids=["broker", "departments"],
)
def test_a_command_that_needs_an_extra_names_it_in_one_line(command: list[str], extra: str) -> None:
    result = _run("from gateway.cli import main\nmain(sys.argv[1:])", *command)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        next(line for line in result.stderr.splitlines() if line.startswith("error ["))
    ]
    assert f"pip install 'dx-gateway[{extra}]'" in result.stderr
