"""The gateway writes in transactions only on Apache Kafka: an embedded broker is recognised
whether it runs in this process or as ``gateway broker`` elsewhere (by the cluster id the mock
cluster gives itself), so ``gateway run --bootstrap`` against one stays at least once."""

from __future__ import annotations

import subprocess
import sys

from gateway.embedded.identity import is_embedded
from gateway.service import _transactions
from gateway.settings import GatewaySettings
from gateway.testing import BrokerUnderTest


def test_a_gateway_broker_process_is_recognised_as_embedded() -> None:
    command = [sys.executable, "-m", "gateway", "broker"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as broker:
        try:
            assert broker.stdout is not None
            first = broker.stdout.readline().strip()
            assert first.startswith("bootstrap=")
            bootstrap = first.removeprefix("bootstrap=")
            assert is_embedded(bootstrap)
            settings = GatewaySettings(bootstrap=bootstrap)
            assert not _transactions(settings, bootstrap, own_broker=False)
        finally:
            broker.terminate()
            broker.wait(timeout=10)


def test_apache_kafka_is_not_embedded(apache_kafka: BrokerUnderTest) -> None:
    assert not is_embedded(apache_kafka.bootstrap)


def test_an_unreachable_address_is_not_taken_for_an_embedded_broker() -> None:
    assert not is_embedded("127.0.0.1:1")
