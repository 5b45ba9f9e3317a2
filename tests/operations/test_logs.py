"""The one logging configuration: text or JSON lines, quiet libraries unless verbose, the Kafka
client's flood held back, and misspelled ``GATEWAY_*`` variables warned about."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest

from gateway import logs
from gateway.cli._common import unknown_variables, warn_unknown_variables
from gateway.logs import KafkaNoise, KafkaReachability, configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {n: logging.getLogger(n).level for n in logs.QUIET_LIBRARIES}
    noise = logs.NOISE
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)
    logs.NOISE = noise


def test_a_flood_of_kafka_client_errors_becomes_one_clear_line(
    restore_logging: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 connection errors from aiokafka in a burst while the gateway runs: it says once that
    Kafka is unreachable, the client's own lines are held back, and reachability reflects it."""
    kafka = KafkaReachability(quiet_s=0.2)
    monkeypatch.setattr(logs, "NOISE", KafkaNoise(kafka, every_s=30))
    configure_logging(False)
    logs.NOISE.announce()
    client = logging.getLogger("aiokafka.conn")
    for _ in range(200):
        client.error("Unable connect to node with id 1: [Errno 111] Connect call failed")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert "ERROR gateway.kafka: Kafka unreachable: Unable connect to node" in lines[0]
    assert not kafka.reachable and kafka.errors == 200

    time.sleep(0.25)
    logs.NOISE.check()
    assert kafka.reachable
    assert "Kafka reachable again" in capsys.readouterr().err


def test_the_held_back_client_lines_show_again_with_a_count(
    restore_logging: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --verbose, once per interval one client line is let through, saying how many were
    held back."""
    monkeypatch.setattr(logs, "NOISE", KafkaNoise(KafkaReachability(), every_s=0.05))
    configure_logging(True)
    client = logging.getLogger("aiokafka")
    client.error("Unable to update metadata from [1]")
    for _ in range(10):
        client.error("Unable to update metadata from [1]")
    time.sleep(0.06)
    client.error("Unable to update metadata from [1]")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[1].endswith("(10 similar client lines held back)")


def test_a_command_that_never_reached_kafka_leaves_saying_so_to_its_one_line_error(
    restore_logging: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before a process has reached Kafka the client's errors are counted, not shown: the
    command's own error (``error [transport_error]: ...``) is the one line said about it."""
    kafka = KafkaReachability()
    monkeypatch.setattr(logs, "NOISE", KafkaNoise(kafka, every_s=0))
    configure_logging(False)
    for _ in range(5):
        logging.getLogger("aiokafka.client").error('Unable connect to "127.0.0.1:1"')

    assert capsys.readouterr().err == ""
    assert kafka.errors == 5 and not kafka.reachable


@pytest.mark.parametrize("library", ["faust", "mode", "kafka"])
def test_the_libraries_speak_only_when_verbose(
    library: str, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(False)
    logging.getLogger(library).error("retrying")
    logging.getLogger("gateway").info("the gateway's own line")
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith("INFO gateway: the gateway's own line")

    configure_logging(True)
    logging.getLogger(library).warning("retrying")
    assert capsys.readouterr().err.rstrip().endswith(f"WARNING {library}: retrying")


def test_json_lines_carry_level_logger_message_and_instance(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(False, "json", "gateway-7")
    logging.getLogger("gateway.runner").warning("offset commit failed after a rebalance: %s", "x")
    (line,) = capsys.readouterr().err.splitlines()
    parsed = json.loads(line)
    assert parsed["level"] == "WARNING"
    assert parsed["logger"] == "gateway.runner"
    assert parsed["message"] == "offset commit failed after a rebalance: x"
    assert parsed["instance"] == "gateway-7"
    assert parsed["at"].endswith("+00:00")


def test_misspelled_gateway_variables_are_named_with_the_likely_setting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A typo in a setting's name is warned about (with the setting meant) instead of being
    ignored silently; settings and the test suite's own variables are not."""
    environ = {
        "GATEWAY_SHRAD": "0/2",
        "GATEWAY_SHARD": "0/2",
        "GATEWAY_PSEUDONYM_SECRET": "x",
        "GATEWAY_TEST_BROKER": "embedded",
        "GATEWAYS": "not ours",
    }
    assert unknown_variables(environ) == ["GATEWAY_SHRAD"]
    with caplog.at_level(logging.WARNING, logger="gateway"):
        warn_unknown_variables(environ)
    assert [r.getMessage() for r in caplog.records] == [
        "unknown setting GATEWAY_SHRAD is ignored (did you mean GATEWAY_SHARD?)"
    ]
