"""The operator endpoint of a running gateway: ``/metrics``, ``/healthz`` and ``/readyz``.

A small HTTP/1.1 server on asyncio streams, in the gateway's own event loop (a scrape reads
state the runner holds, without locks): ``/metrics`` in Prometheus text format, ``/healthz``
(the process answers) and ``/readyz`` (owns input partitions, the audit log is writable, a policy
set is loaded, Kafka reachable), both JSON, ``/readyz`` with status 503 when not ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from gateway.errors import ConfigError
from gateway.logs import KAFKA, KafkaReachability
from gateway.operations.metrics import GatewayMetrics

__all__ = ["OperatorEndpoint", "readiness"]

log = logging.getLogger("gateway.operations")

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def readiness(runner: Any, kafka: KafkaReachability = KAFKA) -> dict[str, Any]:
    """What ``/readyz`` answers: each check and whether all pass."""
    checks = {
        "partitions_assigned": runner.assigned(),
        "audit_log_writable": not runner.stats.audit_paused,
        "policy_version": runner.processor.policy.version,
        "kafka_reachable": kafka.reachable,
    }
    ready = bool(checks["partitions_assigned"]) and all(
        checks[k] for k in ("audit_log_writable", "kafka_reachable")
    )
    return {"ready": ready, "checks": checks}


class OperatorEndpoint:
    """Serves one gateway's metrics and health on ``host:port`` (port 0: any free port)."""

    def __init__(self, metrics: GatewayMetrics, ready: Callable[[], dict[str, Any]]) -> None:
        self._metrics = metrics
        self._ready = ready
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        try:
            self._server = await asyncio.start_server(self._serve, host, port)
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc.strerror}") from exc
        address = self._server.sockets[0].getsockname()
        return str(address[0]), int(address[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                request = await reader.readline()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # headers: nothing here needs them
                status, kind, body = self._answer(request.decode("latin-1").split())
                head = (
                    f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {kind}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                )
                writer.write(head.encode() + body)
                await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(self, request: list[str]) -> tuple[int, str, bytes]:
        if len(request) < 2:
            return 405, "text/plain", b"bad request\n"
        method, path = request[0], request[1].split("?", 1)[0]
        if method != "GET":
            return 405, "text/plain", b"GET only\n"
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, self._metrics.exposition()
        if path == "/healthz":
            return 200, "application/json", b'{"alive": true}\n'
        if path == "/readyz":
            answer = self._ready()
            body = json.dumps(answer, sort_keys=True).encode() + b"\n"
            return (200 if answer["ready"] else 503), "application/json", body
        return 404, "text/plain", b"not found: try /metrics, /healthz or /readyz\n"
