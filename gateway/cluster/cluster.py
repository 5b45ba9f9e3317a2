"""Apache Kafka on loopback: one combined broker/controller node, or three, as child JVMs.

Used by ``gateway kafka``, the test suite and ``gateway chaos``. Each node gets its own folder
(``node-N``: ``server.properties``, data, ``server.log``); storage is formatted once with one
cluster id, so a data folder given again is reused. Nodes are stopped with SIGTERM (Kafka's clean
shutdown) and also die with the process that started them, so no JVM outlives a killed test run.
Fault injection for tests: :meth:`KafkaCluster.kill_node` (SIGKILL), :meth:`stop_node`,
:meth:`start_node`.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from gateway.cluster.admin import KafkaAdmin
from gateway.cluster.distribution import KafkaDistribution, java_executable
from gateway.cluster.node_settings import (
    JVM_OPTIONS,
    NodeSpec,
    log4j2_properties,
    node_properties,
)
from gateway.cluster.security import ClusterSecurity
from gateway.errors import BrokerError

__all__ = ["KafkaCluster", "free_port", "free_ports"]

_STOP_TIMEOUT_S = 30.0
_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct TCP ports nothing listens on right now: every socket stays bound
    until all are picked, so the kernel cannot hand the same port out twice."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _new_cluster_id() -> str:
    """A Kafka cluster id (URL-safe base64 of 16 random bytes) that does not start with ``-``,
    which the storage tool's argument parser would take for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class KafkaCluster:
    """Apache Kafka nodes started from the pinned distribution; a context manager."""

    def __init__(
        self,
        nodes: int = 1,
        *,
        port: int | None = None,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        distribution: KafkaDistribution | None = None,
        properties: Mapping[str, str] | None = None,
        progress: Callable[[str], None] | None = None,
        security: ClusterSecurity | None = None,
    ) -> None:
        """``security``: SASL/SCRAM logins and ACL authorisation (:mod:`gateway.cluster.security`);
        None: one plain-text listener that lets every client do everything."""
        if nodes not in (1, 3):
            raise BrokerError(f"a cluster of {nodes} nodes is not supported: use 1 or 3")
        self._distribution = distribution or KafkaDistribution()
        self._owns_data = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="dx-kafka-"))
        self._extra = dict(properties or {})
        self.security = security
        self._progress = progress
        if port:
            ports = [port + i for i in range(nodes)]
            controller_ports = [port + 100 + i for i in range(nodes)]
        else:
            picked = free_ports(2 * nodes, host)
            ports, controller_ports = picked[:nodes], picked[nodes:]
        self.nodes = tuple(
            NodeSpec(i + 1, host, ports[i], controller_ports[i]) for i in range(nodes)
        )
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        self._classpath = ""
        self._java = ""
        self._admin: KafkaAdmin | None = None

    # --- life cycle ---------------------------------------------------------------------------

    @property
    def version(self) -> str:
        """The Apache Kafka version these nodes run."""
        return self._distribution.version

    @property
    def bootstrap(self) -> str:
        """``host:port`` of every node, comma-separated."""
        return ",".join(node.address for node in self.nodes)

    def start(self, timeout: float = 120.0) -> str:
        """Format storage if needed, start every node, wait until all serve; the bootstrap."""
        self._java = java_executable()
        self._classpath = self._distribution.classpath(self._progress)
        self._format()
        for node in self.nodes:
            self._spawn(node)
        try:
            self._wait_ready(self.nodes, timeout)
        except BaseException:
            self.stop()
            raise
        return self.bootstrap

    def stop(self) -> None:
        """Stop every node cleanly (SIGTERM, then SIGKILL after 30 s); remove a temporary folder."""
        self._admin = None
        for process in self._processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for node_id in list(self._processes):
            self._reap(node_id)
        if self._owns_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- fault injection ----------------------------------------------------------------------

    def kill_node(self, node_id: int) -> None:
        """SIGKILL one node: no clean shutdown, as when a machine dies."""
        process = self._processes.get(node_id)
        if process is not None and process.poll() is None:
            process.kill()
        self._reap(node_id)

    def stop_node(self, node_id: int) -> None:
        """Stop one node cleanly."""
        process = self._processes.get(node_id)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
        self._reap(node_id)

    def start_node(self, node_id: int, timeout: float = 60.0) -> None:
        """Start one stopped node again on its own data, and wait until it serves."""
        node = self._node(node_id)
        self._spawn(node)
        self._wait_ready((node,), timeout)

    def running(self, node_id: int) -> bool:
        process = self._processes.get(node_id)
        return process is not None and process.poll() is None

    # --- topics ---------------------------------------------------------------------------

    @property
    def admin(self) -> KafkaAdmin:
        """Topic administration on this cluster."""
        if self._admin is None:
            self._admin = KafkaAdmin(
                self.bootstrap,
                replicas=min(len(self.nodes), 3),
                config=self.security.librdkafka_config() if self.security else None,
            )
        return self._admin

    def create_topics(self, names: Iterable[str], partitions: int | None = None) -> list[str]:
        """Create topics replicated on every node (up to three); existing ones are kept."""
        return self.admin.create_topics(names, partitions)

    def block_writes(self, topic: str) -> None:
        """Make ``topic`` refuse writes until :meth:`allow_writes`."""
        self.admin.block_writes(topic)

    def allow_writes(self, topic: str) -> None:
        self.admin.allow_writes(topic)

    def limit_retention(self, topic: str, max_bytes: int | None) -> None:
        """Keep about ``max_bytes`` per partition of ``topic``; older segments are deleted."""
        self.admin.limit_retention(topic, max_bytes)

    def log_tail(self, node_id: int, lines: int = 20) -> str:
        """The last lines of a node's log, for error messages."""
        for name in ("server.log", "stdout.log"):
            path = self._node_dir(node_id) / name
            if path.is_file() and path.stat().st_size:
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    # --- internals ----------------------------------------------------------------------------

    def _node(self, node_id: int) -> NodeSpec:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise BrokerError(f"no node {node_id} in this cluster")

    def _node_dir(self, node_id: int) -> Path:
        return self.data_dir / f"node-{node_id}"

    def _format(self) -> None:
        cluster_id_file = self.data_dir / "cluster.id"
        if cluster_id_file.is_file():
            cluster_id = cluster_id_file.read_text().strip()
        else:
            cluster_id = _new_cluster_id()
        formats: list[tuple[int, subprocess.Popen[bytes]]] = []
        for node in self.nodes:
            folder = self._node_dir(node.node_id)
            data = folder / "data"
            folder.mkdir(parents=True, exist_ok=True)
            properties = node_properties(node, self.nodes, data, self._extra, self.security)
            (folder / "server.properties").write_text(
                "".join(f"{key}={value}\n" for key, value in properties.items())
            )
            (folder / "log4j2.properties").write_text(log4j2_properties(folder / "server.log"))
            if (data / "meta.properties").is_file():
                continue
            command = [
                self._java,
                *JVM_OPTIONS,
                "-cp",
                self._classpath,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(folder / "server.properties"),
                *(self.security.format_arguments() if self.security else ()),
            ]
            formats.append(
                (
                    node.node_id,
                    subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT),
                )
            )
        for node_id, process in formats:
            output, _ = process.communicate(timeout=120)
            if process.returncode != 0:
                raise BrokerError(
                    f"formatting Kafka storage of node {node_id} failed:\n"
                    + output.decode(errors="replace")[-2000:]
                )
        cluster_id_file.write_text(cluster_id + "\n")

    def _spawn(self, node: NodeSpec) -> None:
        folder = self._node_dir(node.node_id)
        command = [
            self._java,
            *JVM_OPTIONS,
            f"-Dlog4j2.configurationFile={folder / 'log4j2.properties'}",
            "-cp",
            self._classpath,
            "kafka.Kafka",
            str(folder / "server.properties"),
        ]
        with (folder / "stdout.log").open("ab") as out:
            self._processes[node.node_id] = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches us, and we stop the nodes in order
                preexec_fn=_die_with_parent,
            )

    def _wait_ready(self, nodes: Iterable[NodeSpec], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for node in nodes:
            while not _listening(node.host, node.port):
                process = self._processes[node.node_id]
                if process.poll() is not None:
                    raise BrokerError(
                        f"Kafka node {node.node_id} exited with status {process.returncode}:\n"
                        + self.log_tail(node.node_id)
                    )
                if time.monotonic() > deadline:
                    raise BrokerError(
                        f"Kafka node {node.node_id} did not listen on {node.address} within "
                        f"{timeout:.0f} s:\n" + self.log_tail(node.node_id)
                    )
                time.sleep(0.2)
        while len(self._live_brokers()) < sum(1 for n in self.nodes if self.running(n.node_id)):
            if time.monotonic() > deadline:
                raise BrokerError(f"Kafka brokers did not all register within {timeout:.0f} s")
            time.sleep(0.2)

    def _live_brokers(self) -> list[int]:
        try:
            return self.admin.live_brokers()
        except BrokerError:  # not ready yet; the caller's deadline decides
            return []

    def _reap(self, node_id: int) -> None:
        process = self._processes.get(node_id)
        if process is None:
            return
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
