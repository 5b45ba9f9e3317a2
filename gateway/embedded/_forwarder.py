"""A TCP forwarder that puts a chosen listening address in front of a broker on an ephemeral port.

It runs its own asyncio loop in a daemon thread, so it works the same inside a test process (whose
loop it must not share) and in the ``gateway broker`` command. The thread spends its idle time in
``epoll`` and releases the GIL; bytes are piped with protocol callbacks and flow control, so a slow
reader pauses its peer instead of growing a buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import cast

__all__ = ["TcpForwarder", "bind_listener"]

_SHUTDOWN_GRACE_S = 2.0


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0 picks a free port); raises ``OSError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class _Side(asyncio.Protocol):
    """One end of a forwarded connection: what it reads, its peer writes."""

    def __init__(self, owner: TcpForwarder, peer: _Side | None = None) -> None:
        self._owner = owner
        self.peer = peer
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._owner._transports.add(self.transport)

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)

    def eof_received(self) -> bool:
        return False  # Kafka connections are never half-closed: close both ends

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self._owner._forget(self.transport)
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class _Downstream(_Side):
    """The client's end: holds its bytes back until the upstream connection is open."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self._connect())
        self._owner._tasks.add(task)
        task.add_done_callback(self._owner._tasks.discard)

    async def _connect(self) -> None:
        assert self.transport is not None
        host, port = self._owner.target
        loop = asyncio.get_running_loop()
        try:
            _, upstream = await loop.create_connection(lambda: _Side(self._owner, self), host, port)
        except OSError:
            self.transport.close()
            return
        if self.transport.is_closing():
            if upstream.transport is not None:
                upstream.transport.close()
            return
        self.peer = upstream
        self.transport.resume_reading()


class TcpForwarder:
    """Accepts on a bound socket and pipes each connection to ``target``, in a background thread."""

    def __init__(self, sock: socket.socket, target: tuple[str, int]) -> None:
        self.target = target
        self._sock: socket.socket | None = sock
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._transports: set[asyncio.Transport] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._all_closed: asyncio.Event | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound listening address."""
        if self._sock is None:
            raise RuntimeError("forwarder is closed")
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    def start(self, timeout: float = 5.0) -> None:
        """Start serving; returns once the listener accepts connections."""
        self._thread = threading.Thread(
            target=self._run, name="embedded-broker-forwarder", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("forwarder did not start in time")
        if self._error is not None:
            raise self._error

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, close every forwarded connection and join the thread."""
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if thread is not None and loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stopping.set)
            thread.join(timeout)
        if self._sock is not None:
            self._sock.close()  # the server closes it too; a second close is harmless
        self._thread = None
        self._sock = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
            self._ready.set()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await loop.create_server(lambda: _Downstream(self), sock=self._sock)
        self._ready.set()
        await self._stopping.wait()
        server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._all_closed = asyncio.Event()
        if not self._transports:
            self._all_closed.set()
        for transport in list(self._transports):
            transport.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._all_closed.wait(), _SHUTDOWN_GRACE_S)
        await server.wait_closed()

    def _forget(self, transport: asyncio.Transport) -> None:
        self._transports.discard(transport)
        if not self._transports and self._all_closed is not None:
            self._all_closed.set()
