"""A throwaway PostgreSQL server for tests: ``initdb`` into a temporary directory, served on a
free port of 127.0.0.1 with trust authentication, stopped and removed afterwards.

Needs the server binaries (Debian: ``apt-get install postgresql``; ``make test-deps`` does it).
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` OS user
(through ``runuser``), which owns the temporary directory. ``fsync`` is off: the data is thrown
away, durability does not matter, speed does.

    with throwaway_postgres() as server:
        store = open_store(server.url)
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigError

__all__ = ["PostgresServer", "find_server_binaries", "throwaway_postgres", "unavailable_reason"]

_DEBIAN_BINARIES = Path("/usr/lib/postgresql")
_NEEDED = ("postgres", "initdb", "pg_ctl")
_OS_USER = "postgres"
_START_ATTEMPTS = 3
_INITDB = ["--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C", "--no-sync"]


@dataclass(frozen=True, slots=True)
class PostgresServer:
    """A running throwaway server: connect as superuser ``postgres`` to database ``postgres``."""

    url: str
    port: int
    data_dir: Path
    socket_dir: Path
    bindir: Path


def find_server_binaries() -> Path | None:
    """The directory of the newest installed server (``postgres``, ``initdb``, ``pg_ctl``):
    Debian's ``/usr/lib/postgresql/<version>/bin``, else the one ``pg_ctl`` on ``PATH`` is in."""
    candidates = sorted(
        _DEBIAN_BINARIES.glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True
    )
    on_path = shutil.which("pg_ctl")
    if on_path is not None:
        candidates.append(Path(on_path).resolve().parent)
    return next((bindir for bindir in candidates if _has_server(bindir)), None)


def unavailable_reason(bindir: Path | None = None) -> str | None:
    """Why no throwaway server can be started here (no binaries, or root without a ``postgres``
    user to run them as), or None if one can."""
    if bindir is not None and not _has_server(bindir):
        return f"no PostgreSQL server binaries ({', '.join(_NEEDED)}) in {bindir}"
    if bindir is None and find_server_binaries() is None:
        return (
            f"no PostgreSQL server binaries ({', '.join(_NEEDED)}) under "
            f"{_DEBIAN_BINARIES}/*/bin or on PATH: apt-get install postgresql (make test-deps)"
        )
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(_OS_USER)
    except KeyError:
        return f"running as root, which PostgreSQL refuses, and no {_OS_USER!r} user to run it as"
    if shutil.which("runuser") is None:
        return f"running as root, which PostgreSQL refuses, and no runuser to become {_OS_USER!r}"
    return None


@contextlib.contextmanager
def throwaway_postgres(
    bindir: Path | None = None, *, start_timeout: int = 60
) -> Iterator[PostgresServer]:
    """Start a new server in a temporary directory; stop it and remove the directory after.

    Raises :class:`~gateway.errors.ConfigError` when it cannot start: see
    :func:`unavailable_reason`, or the server's log in the message.
    """
    reason = unavailable_reason(bindir)
    if reason is not None:
        raise ConfigError(reason)
    bindir = bindir or find_server_binaries()
    assert bindir is not None
    runner = _Runner.for_current_user()
    root = Path(tempfile.mkdtemp(prefix="dx-postgres-"))
    try:
        runner.give(root)
        data, sockets, log = root / "data", root / "socket", root / "server.log"
        runner.run(root, [str(bindir / "initdb"), *_INITDB, "-D", str(data)])
        sockets.mkdir()
        runner.give(sockets)
        port = _start(runner, bindir, root, data, sockets, log, start_timeout)
        try:
            yield PostgresServer(
                url=f"postgresql://postgres@127.0.0.1:{port}/postgres",
                port=port,
                data_dir=data,
                socket_dir=sockets,
                bindir=bindir,
            )
        finally:
            runner.run(root, [str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _start(
    runner: _Runner, bindir: Path, cwd: Path, data: Path, sockets: Path, log: Path, timeout: int
) -> int:
    """Start on a free port (another, if someone takes it first) and wait until the server
    accepts connections (``pg_ctl -w``); the port it listens on."""
    for attempt in range(1, _START_ATTEMPTS + 1):
        port = _free_port()
        log.unlink(missing_ok=True)
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        command = [str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(log)]
        started = runner.run(cwd, [*command, "-w", "-t", str(timeout), "-o", options], check=False)
        if started.returncode == 0:
            return port
        server_log = log.read_text(errors="replace") if log.exists() else ""
        if "could not bind" not in server_log or attempt == _START_ATTEMPTS:
            raise ConfigError(
                f"the throwaway PostgreSQL server did not start: {started.stdout.strip()}\n"
                f"{server_log.strip()}"
            )
    raise AssertionError("unreachable")


def _has_server(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in _NEEDED)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


@dataclass(frozen=True, slots=True)
class _Runner:
    """Runs the server's programs: as ``postgres`` through ``runuser`` when we are root."""

    user: pwd.struct_passwd | None

    @classmethod
    def for_current_user(cls) -> _Runner:
        return cls(pwd.getpwnam(_OS_USER) if os.geteuid() == 0 else None)

    def give(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def run(
        self, cwd: Path, command: list[str], *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        if self.user is not None:
            command = ["runuser", "-u", self.user.pw_name, "--", *command]
        done = subprocess.run(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if check and done.returncode != 0:
            raise ConfigError(f"{' '.join(command)} failed: {done.stdout.strip()}")
        return done
