"""The measured worker as a child process: start it, read its events, always end it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

from gateway.bench.errors import BenchError

__all__ = ["WorkerProcess", "worker_process"]


class WorkerProcess:
    """A ``gateway.bench.worker`` child process and its JSON-lines protocol."""

    def __init__(self, mode: str, process: asyncio.subprocess.Process) -> None:
        self.mode = mode
        self._process = process

    async def event(self, name: str, limit_s: float) -> dict[str, Any]:
        """The next ``name`` event; a BenchError for an error event, an exit, or a timeout."""
        stdout = self._process.stdout
        assert stdout is not None
        try:
            async with asyncio.timeout(limit_s):
                while True:
                    line = await stdout.readline()
                    if not line:
                        status = await self._process.wait()
                        raise BenchError(
                            f"the {self.mode} worker exited (status {status}) before {name!r}"
                        )
                    with contextlib.suppress(ValueError):
                        message = json.loads(line)
                        if message.get("event") == "error":
                            raise BenchError(f"{self.mode} worker: {message.get('message')}")
                        if message.get("event") == name:
                            return dict(message)
        except TimeoutError:
            raise BenchError(
                f"the {self.mode} worker sent no {name!r} within {limit_s:g}s"
            ) from None

    def proceed(self) -> None:
        """Tell a warmed gateway worker that its measured inputs are in place."""
        if self._process.stdin is not None and not self._process.stdin.is_closing():
            self._process.stdin.write(b"go\n")

    def request_stop(self) -> None:
        """Ask the worker to finish; it answers with a ``stopped`` event."""
        if self._process.stdin is not None and not self._process.stdin.is_closing():
            self._process.stdin.write(b"stop\n")

    async def close(self, grace: float = 10.0) -> None:
        """Close its stdin (it then stops by itself); terminate it, then kill it, if it does not."""
        if self._process.stdin is not None and not self._process.stdin.is_closing():
            self._process.stdin.close()
        for signal_it in (None, self._process.terminate, self._process.kill):
            if signal_it is not None:
                with contextlib.suppress(ProcessLookupError):
                    signal_it()
            try:
                await asyncio.wait_for(self._process.wait(), grace)
                return
            except TimeoutError:
                grace = 3.0


@contextlib.asynccontextmanager
async def worker_process(
    mode: str, *args: str, cpu: int | None, pure_python: bool = False
) -> AsyncIterator[WorkerProcess]:
    """Start ``python -m gateway.bench.worker MODE ARGS`` (with this process's settings from the
    environment; with ``pure_python``, ``GATEWAY_PURE_PYTHON=1`` too: none of the project's C
    code); on leaving, end it whatever happened."""
    argv = [sys.executable, "-m", "gateway.bench.worker", mode, *args]
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    env = {**os.environ, "GATEWAY_PURE_PYTHON": "1"} if pure_python else None
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env
    )
    worker = WorkerProcess(mode, process)
    try:
        yield worker
    finally:
        await worker.close()
