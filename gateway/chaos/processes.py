"""The campaign's gateway instances and reference departments, each a separate OS process.

Gateways are ``python -m gateway run`` on the campaign's cluster, prefix and consumer group;
the departments are ``python -m gateway departments``. Each child's output goes to a log file
of its own in the campaign's folder, and each child dies with the campaign (``PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Child", "Fleet"]

_PR_SET_PDEATHSIG = 1
_STOP_WITHIN_S = 30.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass(slots=True)
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    expected_exit: bool = False
    """Set once the campaign stops or kills it; an exit before that is a finding."""

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when a machine dies."""
        self.expected_exit = True
        if self.running:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self, within: float = _STOP_WITHIN_S) -> int:
        """SIGTERM, and SIGKILL if it has not exited ``within`` seconds later; its status."""
        self.expected_exit = True
        if self.running:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def tail(self, lines: int = 30) -> str:
        if not self.log.is_file():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Fleet:
    """Gateway and department processes of one campaign."""

    def __init__(
        self,
        *,
        bootstrap: str,
        prefix: str,
        group: str,
        policies_dir: Path,
        log_dir: Path,
        gateway_key_pem: Path | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._prefix = prefix
        self._group = group
        self._policies = policies_dir
        self._logs = log_dir
        self._gateway_key = gateway_key_pem
        self._started = 0
        self.gateways: dict[str, Child] = {}
        self.departments: Child | None = None
        self.exited: list[str] = []
        """Children that exited without being told to, with their status."""

    def start_gateway(self) -> Child:
        """One more gateway instance, ``gw-<n>``, in the campaign's group."""
        self._started += 1
        name = f"gw-{self._started}"
        command = [
            "-m", "gateway", "run",
            "--bootstrap", self._bootstrap,
            "--prefix", self._prefix,
            "--group", self._group,
            "--instance", name,
            "--policies", str(self._policies),
            "--no-metrics",
        ]  # fmt: skip
        child = self._spawn(name, command)
        self.gateways[name] = child
        return child

    def start_departments(self) -> Child:
        command = ["-m", "gateway", "departments", "--bootstrap", self._bootstrap,
                   "--prefix", self._prefix]  # fmt: skip
        if self._gateway_key is not None:
            command += ["--gateway-key", str(self._gateway_key)]
        self.departments = self._spawn("departments", command)
        return self.departments

    def running_gateways(self) -> list[Child]:
        return [child for child in self.gateways.values() if child.running]

    def check(self) -> None:
        """Note children that exited on their own since the last check."""
        for child in [*self.gateways.values(), *([self.departments] if self.departments else [])]:
            if not child.running and not child.expected_exit:
                child.expected_exit = True
                self.exited.append(
                    f"{child.name} exited with status {child.process.returncode}: {child.tail(5)!r}"
                )

    def stop_all(self) -> None:
        """Stop every gateway cleanly (their last batches committed, chain heads signed), then
        the departments."""
        self.check()
        running = self.running_gateways()
        for child in running:
            child.expected_exit = True
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _STOP_WITHIN_S
        for child in running:
            try:
                child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
        if self.departments is not None:
            self.departments.terminate()

    def wait_for_line(self, child: Child, prefix: str, within: float = 90.0) -> bool:
        """Whether ``child`` printed a line starting with ``prefix`` within ``within`` s."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and child.running:
            if child.log.is_file() and any(
                line.startswith(prefix)
                for line in child.log.read_text(errors="replace").splitlines()
            ):
                return True
            time.sleep(0.2)
        return False

    def _spawn(self, name: str, arguments: Sequence[str]) -> Child:
        log = self._logs / f"{name}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, *arguments],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return Child(name, process, log)
