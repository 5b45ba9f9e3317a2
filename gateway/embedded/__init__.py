"""The embedded Kafka-protocol broker for development and tests (librdkafka's mock cluster, from
the ``confluent-kafka`` wheel, the ``local-kafka`` extra): ``gateway broker``, ``gateway run``
without ``--bootstrap``, the demo, the benchmark and the test fixtures. Production runs on Apache
Kafka; :mod:`~gateway.embedded.identity`, which the runtime uses, needs no extra."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway._exports import lazy_exports

if TYPE_CHECKING:
    from gateway.embedded.broker import (
        EMBEDDED_BROKER_LIMITS,
        ApiKey,
        EmbeddedBroker,
        start_gateway_broker,
        wait_until_ready,
    )
    from gateway.embedded.identity import EMBEDDED_SESSION_TIMEOUT_MS, is_embedded

__all__ = [
    "EMBEDDED_BROKER_LIMITS",
    "EMBEDDED_SESSION_TIMEOUT_MS",
    "ApiKey",
    "EmbeddedBroker",
    "is_embedded",
    "start_gateway_broker",
    "wait_until_ready",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "EMBEDDED_BROKER_LIMITS": "broker",
        "EMBEDDED_SESSION_TIMEOUT_MS": "identity",
        "ApiKey": "broker",
        "EmbeddedBroker": "broker",
        "is_embedded": "identity",
        "start_gateway_broker": "broker",
        "wait_until_ready": "broker",
    },
)
"""Imported on first use, so that asking :func:`is_embedded` loads no broker (nor its extra)."""
