"""ctypes bindings to the mock cluster inside the librdkafka that ships with ``confluent-kafka``.

Only the calls the embedded broker needs are declared, each with its exact C signature: handles are
``void *``, so they must never pass through ``int``. Signatures follow librdkafka's
``rdkafka_mock.h``; that API is marked experimental upstream, so a missing symbol is reported as a
:class:`~gateway.errors.BrokerError` instead of crashing.

Most mock calls are queued to the cluster's own thread, which sleeps in ``poll()``. A call made
right after the previous one returned can lose its wake-up and then waits for the thread's
one-second timer (measured: 50 of 300 back-to-back topic creations took 1 s each). So calls are
spaced by a millisecond, and a call still waiting after 50 ms is nudged by opening and closing a
TCP connection to the broker's listener, which wakes the thread just as well.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from gateway.errors import BrokerError

__all__ = ["ERR_TOPIC_ALREADY_EXISTS", "MockCluster"]

ERR_TOPIC_ALREADY_EXISTS = 36
"""Kafka error code returned when a topic of that name exists already."""

_RD_KAFKA_PRODUCER = 0
_ERRSTR_SIZE = 512
_OP_SPACING_S = 0.001
_NUDGE_AFTER_S = 0.05

_P = ctypes.c_void_p
_S = ctypes.c_char_p
_I = ctypes.c_int
_I16 = ctypes.c_int16
_I32 = ctypes.c_int32

# name: (restype, argtypes)
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "rd_kafka_conf_new": (_P, []),
    "rd_kafka_conf_set": (_I, [_P, _S, _S, _S, ctypes.c_size_t]),
    "rd_kafka_conf_destroy": (None, [_P]),
    "rd_kafka_new": (_P, [_I, _P, _S, ctypes.c_size_t]),
    "rd_kafka_destroy": (None, [_P]),
    "rd_kafka_err2str": (_S, [_I]),
    "rd_kafka_err2name": (_S, [_I]),
    "rd_kafka_mock_cluster_new": (_P, [_P, _I]),
    "rd_kafka_mock_cluster_destroy": (None, [_P]),
    "rd_kafka_mock_cluster_bootstraps": (_S, [_P]),
    "rd_kafka_mock_set_controller_id": (None, [_P, _I32]),
    "rd_kafka_mock_group_initial_rebalance_delay_ms": (None, [_P, _I32]),
    "rd_kafka_mock_topic_create": (_I, [_P, _S, _I, _I]),
    "rd_kafka_mock_topic_set_error": (None, [_P, _S, _I]),
    "rd_kafka_mock_push_request_errors_array": (None, [_P, _I16, ctypes.c_size_t, _P]),
    "rd_kafka_mock_clear_request_errors": (None, [_P, _I16]),
    "rd_kafka_mock_broker_set_down": (_I, [_P, _I32]),
    "rd_kafka_mock_broker_set_up": (_I, [_P, _I32]),
    "rd_kafka_mock_broker_set_host_port": (None, [_P, _I32, _S, _I]),
}


def _library_path() -> str:
    try:
        import confluent_kafka
    except ImportError as exc:
        raise BrokerError(
            "the embedded broker needs the confluent-kafka package (it bundles librdkafka): "
            "pip install 'dx-gateway[local-kafka]'"
        ) from exc
    package_dir = os.path.dirname(confluent_kafka.__file__)
    pattern = os.path.normpath(
        os.path.join(package_dir, os.pardir, "confluent_kafka.libs", "librdkafka-*.so*")
    )
    found = sorted(glob.glob(pattern))
    if not found:
        raise BrokerError(
            f"librdkafka not found next to confluent-kafka (looked for {pattern}): "
            "install a confluent-kafka binary wheel for Linux"
        )
    return found[0]


@functools.cache
def _library() -> ctypes.CDLL:
    path = _library_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        raise BrokerError(f"cannot load librdkafka from {path}: {exc}") from exc
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            func = getattr(lib, name)
        except AttributeError as exc:
            raise BrokerError(
                f"{path} lacks {name}: this confluent-kafka build has no usable mock cluster"
            ) from exc
        func.restype = restype
        func.argtypes = argtypes
    return lib


def _err_text(lib: ctypes.CDLL, code: int) -> str:
    name = (lib.rd_kafka_err2name(code) or b"").decode()
    text = (lib.rd_kafka_err2str(code) or b"").decode()
    return f"{name} ({code}): {text}"


class MockCluster:
    """One librdkafka mock cluster and the client handle that owns it (brokers are 1..n)."""

    def __init__(self, brokers: int = 1) -> None:
        self._lib = _library()
        errstr = ctypes.create_string_buffer(_ERRSTR_SIZE)
        conf = self._lib.rd_kafka_conf_new()
        # The owning handle has no bootstrap.servers on purpose; silence its warning about that.
        if self._lib.rd_kafka_conf_set(conf, b"log_level", b"0", errstr, _ERRSTR_SIZE) != 0:
            self._lib.rd_kafka_conf_destroy(conf)
            raise BrokerError(f"librdkafka rejected log_level: {errstr.value.decode()}")
        rk = self._lib.rd_kafka_new(_RD_KAFKA_PRODUCER, conf, errstr, _ERRSTR_SIZE)
        if not rk:  # rd_kafka_new frees conf only on success
            self._lib.rd_kafka_conf_destroy(conf)
            raise BrokerError(f"librdkafka could not create a handle: {errstr.value.decode()}")
        mc = self._lib.rd_kafka_mock_cluster_new(rk, brokers)
        if not mc:
            self._lib.rd_kafka_destroy(rk)
            raise BrokerError("librdkafka could not create a mock cluster (no free loopback port?)")
        self._rk: int | None = rk
        self._mc: int | None = mc
        self._op_lock = threading.Lock()
        self._last_op = 0.0
        host, _, port = self.bootstraps.split(",")[0].rpartition(":")
        self._listener = (host, int(port))

    def _op(self, func: Callable[..., Any], *args: Any) -> Any:
        """Call a mock API function on this cluster, one call at a time."""
        with self._op_lock:
            return self._spaced_and_nudged(func, self._handle(), *args)

    def _spaced_and_nudged(self, func: Callable[..., Any], *args: Any) -> Any:
        wait = self._last_op + _OP_SPACING_S - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        nudge = threading.Timer(_NUDGE_AFTER_S, self._nudge)
        nudge.daemon = True
        nudge.start()
        try:
            return func(*args)
        finally:
            nudge.cancel()
            self._last_op = time.monotonic()

    def _nudge(self) -> None:
        with contextlib.suppress(OSError), socket.create_connection(self._listener, timeout=1):
            pass

    def _handle(self) -> int:
        if self._mc is None:
            raise BrokerError("the embedded broker is stopped")
        return self._mc

    @property
    def bootstraps(self) -> str:
        """The brokers' own listener addresses, ``host:port[,...]``."""
        raw: bytes | None = self._lib.rd_kafka_mock_cluster_bootstraps(self._handle())
        return (raw or b"").decode()

    def set_controller(self, broker_id: int) -> None:
        self._op(self._lib.rd_kafka_mock_set_controller_id, broker_id)

    def set_group_initial_rebalance_delay(self, delay_ms: int) -> None:
        self._op(self._lib.rd_kafka_mock_group_initial_rebalance_delay_ms, delay_ms)

    def create_topic(self, name: str, partitions: int) -> int:
        """Create a topic with replication factor 1; the Kafka error code (0 when created)."""
        code: int = self._op(self._lib.rd_kafka_mock_topic_create, name.encode(), partitions, 1)
        return code

    def set_topic_error(self, name: str, code: int) -> None:
        """Report ``code`` for this topic in metadata responses (0 clears it)."""
        self._op(self._lib.rd_kafka_mock_topic_set_error, name.encode(), code)

    def push_request_errors(self, api_key: int, errors: Sequence[int]) -> None:
        array = (ctypes.c_int * len(errors))(*errors)
        self._op(
            self._lib.rd_kafka_mock_push_request_errors_array,
            api_key,
            len(errors),
            ctypes.cast(array, _P),
        )

    def clear_request_errors(self, api_key: int) -> None:
        self._op(self._lib.rd_kafka_mock_clear_request_errors, api_key)

    def set_broker_down(self, broker_id: int) -> None:
        self._check(self._op(self._lib.rd_kafka_mock_broker_set_down, broker_id), "set down")

    def set_broker_up(self, broker_id: int) -> None:
        self._check(self._op(self._lib.rd_kafka_mock_broker_set_up, broker_id), "set up")

    def advertise(self, broker_id: int, host: str, port: int) -> None:
        """Change the address metadata gives for a broker; its listener does not move."""
        self._op(self._lib.rd_kafka_mock_broker_set_host_port, broker_id, host.encode(), port)

    def error_text(self, code: int) -> str:
        return _err_text(self._lib, code)

    def destroy(self) -> None:
        """Close the listeners and free the cluster and its handle; safe to call twice."""
        with self._op_lock:
            mc, rk, self._mc, self._rk = self._mc, self._rk, None, None
            if mc is not None:  # shutting down is queued to the cluster thread like any call
                self._spaced_and_nudged(self._lib.rd_kafka_mock_cluster_destroy, mc)
            if rk is not None:
                self._lib.rd_kafka_destroy(rk)

    def _check(self, code: int, what: str) -> None:
        if code != 0:
            raise BrokerError(f"mock broker {what} failed: {self.error_text(code)}")
