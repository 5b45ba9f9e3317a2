"""The console's one view of the cluster: a snapshot taken every few seconds, shared by every page
and event stream, and what went wrong when the cluster could not be read."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from gateway.errors import TransportError
from gateway.operations.reader import ClusterReader
from gateway.operations.snapshot import ClusterSnapshot

__all__ = ["LiveSnapshots"]

log = logging.getLogger("gateway.console")


class LiveSnapshots:
    """Takes a snapshot every ``interval`` seconds in the background (one reader for all viewers);
    :attr:`version` grows with each attempt, whether it worked or not."""

    def __init__(
        self,
        bootstrap: str | None,
        *,
        prefix: str,
        groups: Sequence[str],
        interval: float = 2.0,
    ) -> None:
        self.bootstrap = bootstrap
        self._prefix = prefix
        self._groups = tuple(groups)
        self._interval = interval
        self.snapshot: ClusterSnapshot | None = None
        self.error: str | None = None if bootstrap else "no Kafka cluster is configured"
        self.version = 0
        self._changed = asyncio.Condition()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    async def start(self) -> None:
        if self.bootstrap is not None:
            self._task = asyncio.create_task(self._run(self.bootstrap))

    async def stop(self) -> None:
        self._stop.set()
        async with self._changed:
            self._changed.notify_all()
        if self._task is not None:
            await self._task

    async def newer_than(self, version: int, timeout: float) -> int:  # noqa: ASYNC109
        """The current version once it is newer than ``version`` (or ``timeout`` passed, or the
        console is stopping)."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.version > version or self.closed), timeout
                )
            return self.version

    async def _run(self, bootstrap: str) -> None:
        reader: ClusterReader | None = None
        try:
            while not self._stop.is_set():
                try:
                    if reader is None:
                        fresh = ClusterReader(bootstrap, prefix=self._prefix, groups=self._groups)
                        await fresh.start()  # stops itself when it cannot connect
                        reader = fresh
                    snapshot = await reader.snapshot()
                except TransportError as exc:
                    if self.error != str(exc):
                        log.warning("console: %s", exc)
                    self.error = str(exc)
                    if reader is not None:
                        await reader.stop()
                        reader = None
                else:
                    self.snapshot, self.error = snapshot, None
                async with self._changed:
                    self.version += 1
                    self._changed.notify_all()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._interval)
        finally:
            if reader is not None:
                await reader.stop()
