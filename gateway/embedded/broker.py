"""The embedded Kafka-protocol broker for development and tests: librdkafka's mock cluster.

Apache Kafka is the production broker. Where it cannot run, the mock cluster inside the
``confluent-kafka`` wheel speaks the Kafka wire protocol on loopback TCP, and aiokafka and
faust-streaming use it like any broker. It is one broker (id 1, also the controller) in this
process. Measured on two cores: start plus the 27 topics of six departments takes 45 ms on average
(60 ms at worst, the first load of the library adds about 60 ms), stopping 2-4 ms; each mock call
is spaced by 1 ms (see ``_librdkafka``), which is most of that time.

Topics are created through the mock API: the broker does not advertise CreateTopics. With a fixed
``port`` (or a ``host`` other than loopback) a small TCP forwarder listens there and the broker
advertises that address, because the mock listener itself always takes an ephemeral loopback port.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import re
import socket
import threading
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Self

from gateway.embedded._forwarder import TcpForwarder, bind_listener
from gateway.embedded._librdkafka import ERR_TOPIC_ALREADY_EXISTS, MockCluster
from gateway.embedded.identity import note_running, note_stopped
from gateway.errors import BrokerError, TransportError
from gateway.transport.topics import TopicNames

_TOPIC_AUTHORIZATION_FAILED = 29

__all__ = [
    "EMBEDDED_BROKER_LIMITS",
    "ApiKey",
    "EmbeddedBroker",
    "start_gateway_broker",
    "wait_until_ready",
]

EMBEDDED_BROKER_LIMITS = (
    "in memory only: everything is gone when it stops",
    "about 5 MB (or 100k message sets) kept per partition; older records vanish silently, "
    "so consumers must keep up",
    "no transactional abort filtering: read_committed consumers still see aborted records",
    "a client asking for an unknown topic creates it with 4 partitions "
    "(auto-creation is off on the real cluster)",
    "one aiokafka member per consumer group: a second member's SyncGroup is refused "
    "(INVALID_REQUEST, fatal to aiokafka), so test several instances on real Kafka",
    "a consumer joining a group just after a member left waits session_timeout_ms - 1 s "
    "(at least 1 s)",
    "no TLS or SASL; for development and tests only",
)
"""What the embedded broker cannot do; shown by ``gateway broker`` and worth knowing in tests."""

_BROKER_ID = 1
_LOOPBACK = "127.0.0.1"
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


class ApiKey(enum.IntEnum):
    """Kafka request types, for :meth:`EmbeddedBroker.fail_requests`."""

    PRODUCE = 0
    FETCH = 1
    LIST_OFFSETS = 2
    METADATA = 3
    OFFSET_COMMIT = 8
    OFFSET_FETCH = 9
    FIND_COORDINATOR = 10
    JOIN_GROUP = 11
    HEARTBEAT = 12
    LEAVE_GROUP = 13
    SYNC_GROUP = 14
    INIT_PRODUCER_ID = 22


class EmbeddedBroker:
    """One in-process Kafka-protocol broker with the gateway's topics created on demand.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. ``port=None`` keeps the
    broker's own ephemeral loopback port; a number (0 for any free one) listens there instead.
    """

    def __init__(
        self,
        partitions: int = 4,
        port: int | None = None,
        host: str = _LOOPBACK,
        *,
        group_rebalance_delay_ms: int = 0,
    ) -> None:
        if partitions < 1:
            raise BrokerError(f"partitions must be at least 1, not {partitions}")
        if port is not None and not 0 <= port <= 65535:
            raise BrokerError(f"port must be between 0 and 65535, not {port}")
        if host in ("", "0.0.0.0", "::"):
            raise BrokerError(
                f"host {host!r} cannot be advertised: give an address clients can reach"
            )
        self.partitions = partitions
        self._port = port
        self._host = host
        self._rebalance_delay_ms = group_rebalance_delay_ms
        self._lock = threading.Lock()
        self._cluster: MockCluster | None = None
        self._forwarder: TcpForwarder | None = None
        self._bootstrap: str | None = None
        self._topics: dict[str, int] = {}

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> str:
        """Start the broker and return its bootstrap address ``host:port``."""
        with self._lock:
            if self._cluster is not None:
                raise BrokerError("the embedded broker is already running")
            forward = self._port is not None or self._host != _LOOPBACK
            sock = self._listen() if forward else None
            try:
                cluster = MockCluster(brokers=1)
            except BaseException:
                if sock is not None:
                    sock.close()
                raise
            try:
                cluster.set_controller(_BROKER_ID)
                cluster.set_group_initial_rebalance_delay(self._rebalance_delay_ms)
                if sock is None:
                    bootstrap = cluster.bootstraps
                else:
                    target_host, _, target_port = cluster.bootstraps.rpartition(":")
                    forwarder = TcpForwarder(sock, (target_host, int(target_port)))
                    sock = None  # the forwarder owns it now
                    self._forwarder = forwarder
                    forwarder.start()
                    port = forwarder.address[1]
                    cluster.advertise(_BROKER_ID, self._host, port)
                    bootstrap = f"{_bracket(self._host)}:{port}"
            except BaseException:
                self._teardown(cluster)
                if sock is not None:
                    sock.close()
                raise
            self._cluster = cluster
            self._bootstrap = bootstrap
            self._topics = {}
            note_running(bootstrap)
            return bootstrap

    def stop(self) -> None:
        """Close every connection and free the broker; stopping twice is harmless."""
        with self._lock:
            note_stopped(self._bootstrap or "")
            cluster, self._cluster = self._cluster, None
            self._bootstrap = None
            if cluster is not None:
                self._teardown(cluster)

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._cluster is not None

    @property
    def bootstrap(self) -> str:
        """``host:port`` for ``bootstrap_servers``; raises if the broker is not running."""
        if self._bootstrap is None:
            raise BrokerError("the embedded broker is not running: call start() first")
        return self._bootstrap

    @property
    def topics(self) -> dict[str, int]:
        """Topics created through this object, with their partition counts."""
        return dict(self._topics)

    # --- topics -----------------------------------------------------------------------------

    def create_topics(self, names: Iterable[str], partitions: int | None = None) -> list[str]:
        """Create topics (default partition count: the broker's); returns the names newly created.

        A name that already exists is left as it is, whatever its partition count, so calling
        this again is harmless.
        """
        count = self.partitions if partitions is None else partitions
        if count < 1:
            raise BrokerError(f"partitions must be at least 1, not {count}")
        names = list(names)
        for name in names:
            self._check_name(name)
        cluster = self._running_cluster()
        created: list[str] = []
        for name in names:
            code = cluster.create_topic(name, count)
            if code == 0:
                self._topics[name] = count
                created.append(name)
            elif code != ERR_TOPIC_ALREADY_EXISTS:
                raise BrokerError(f"cannot create topic {name!r}: {cluster.error_text(code)}")
        return created

    # --- fault injection --------------------------------------------------------------------

    def fail_requests(self, api_key: int, errors: Sequence[int]) -> None:
        """Answer the next ``len(errors)`` requests of ``api_key`` with these Kafka error codes.

        Error codes are aiokafka's ``errno`` values (``NotLeaderForPartitionError.errno`` is 6).
        The code -195 (librdkafka's transport error) makes the broker drop the connection.
        """
        if errors:
            self._running_cluster().push_request_errors(int(api_key), [int(e) for e in errors])

    def clear_request_errors(self, api_key: int) -> None:
        """Forget errors pushed by :meth:`fail_requests` that have not been used yet."""
        self._running_cluster().clear_request_errors(int(api_key))

    def set_topic_error(self, topic: str, error: int) -> None:
        """Make metadata report ``error`` for ``topic`` (0 clears it), so clients cannot use it.

        This is how to make a topic unavailable: a missing topic does not do it, because clients
        asking for an unknown topic create it here. An unknown ``topic`` is created with 4
        partitions, so create it first if its partition count matters.
        """
        self._check_name(topic)
        self._running_cluster().set_topic_error(topic, int(error))

    def block_writes(self, topic: str) -> None:
        """Refuse every produce to ``topic`` (authorization failed) until :meth:`allow_writes`."""
        self.set_topic_error(topic, _TOPIC_AUTHORIZATION_FAILED)

    def allow_writes(self, topic: str) -> None:
        """Accept writes to ``topic`` again."""
        self.set_topic_error(topic, 0)

    def limit_retention(self, topic: str, max_bytes: int | None) -> None:
        """Nothing to set: this broker keeps about 5 MB per partition whatever is asked."""

    def set_broker_down(self) -> None:
        """Drop every client connection and refuse new ones until :meth:`set_broker_up`."""
        self._running_cluster().set_broker_down(_BROKER_ID)

    def set_broker_up(self) -> None:
        """Accept connections again after :meth:`set_broker_down`."""
        self._running_cluster().set_broker_up(_BROKER_ID)

    # --- internals --------------------------------------------------------------------------

    def _running_cluster(self) -> MockCluster:
        if self._cluster is None:
            raise BrokerError("the embedded broker is not running: call start() first")
        return self._cluster

    @staticmethod
    def _check_name(name: str) -> None:
        if not _TOPIC_NAME.fullmatch(name) or name in (".", ".."):
            raise BrokerError(
                f"invalid topic name {name!r}: use 1-249 of letters, digits, '.', '_', '-'"
            )

    def _listen(self) -> socket.socket:
        port = self._port or 0
        try:
            return bind_listener(self._host, port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise BrokerError(
                    f"port {port} on {self._host} is already in use: "
                    "choose another port, or none for a free one"
                ) from exc
            raise BrokerError(f"cannot listen on {self._host}:{port}: {exc.strerror}") from exc

    def _teardown(self, cluster: MockCluster) -> None:
        forwarder, self._forwarder = self._forwarder, None
        if forwarder is not None:
            forwarder.close()
        cluster.destroy()


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def start_gateway_broker(
    topics: TopicNames,
    departments: Iterable[str],
    partitions: int = 4,
    port: int | None = None,
) -> EmbeddedBroker:
    """A running embedded broker with every topic the gateway uses for these departments."""
    broker = EmbeddedBroker(partitions=partitions, port=port)
    broker.start()
    try:
        broker.create_topics(topics.all_topics(list(departments)))
    except BaseException:
        broker.stop()
        raise
    return broker


async def wait_until_ready(
    bootstrap: str,
    timeout: float = 10.0,  # noqa: ASYNC109 - a deadline for the whole wait, in seconds
    topics: Iterable[str] = (),
) -> None:
    """Return once aiokafka fetches metadata with a controller (and ``topics``) from ``bootstrap``.

    Works for any Kafka cluster; raises :class:`TransportError` when ``timeout`` runs out.
    """
    from aiokafka.client import AIOKafkaClient  # kept local: importing aiokafka is slow

    wanted = set(topics)
    problem = "no answer"
    try:
        async with asyncio.timeout(timeout):
            while True:
                if not await _reachable(bootstrap):
                    problem = "connection refused"
                else:
                    client = AIOKafkaClient(bootstrap_servers=bootstrap)
                    try:
                        await client.bootstrap()
                        metadata = await client.fetch_all_metadata()
                        missing = wanted - set(metadata.topics())
                        if metadata.controller is not None and not missing:
                            return
                        problem = f"missing {sorted(missing)}" if missing else "no controller"
                    except Exception as exc:  # any failure here only means "not yet"
                        problem = f"{type(exc).__name__}: {exc}"
                    finally:
                        await client.close()
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise TransportError(
            f"Kafka at {bootstrap} not ready after {timeout:g}s: {problem}"
        ) from None


async def _reachable(bootstrap: str) -> bool:
    """Whether a TCP connection to the first bootstrap address opens (quietly, unlike aiokafka)."""
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    try:
        _, writer = await asyncio.open_connection(host.strip("[]"), int(port))
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True
