"""The benchmark's one error: it could not run, or a completeness check failed."""

from __future__ import annotations

from typing import Any

from gateway.errors import GatewayError

__all__ = ["BenchError"]


class BenchError(GatewayError):
    """The benchmark could not run, or what it measured failed a completeness check (then
    ``report`` holds what was measured)."""

    code = "bench_failed"

    def __init__(self, message: str, report: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.report = report
