"""Whether a bootstrap address is an embedded broker, told without the broker's own dependency.

``gateway run --bootstrap`` asks on every start (an embedded broker cannot filter aborted
records, so the gateway does not write in transactions on one), and the gateway runs without
``confluent-kafka``: the question goes over the Kafka protocol with aiokafka, and the answer is
the cluster id, which librdkafka's mock cluster starts with ``mockCluster`` and Apache Kafka
never does (its ids are base64 UUIDs).
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.metadata import MetadataRequest

__all__ = ["EMBEDDED_SESSION_TIMEOUT_MS", "is_embedded", "note_running", "note_stopped"]

EMBEDDED_SESSION_TIMEOUT_MS = 2_000
"""Consumer session timeout for groups on the embedded broker: it makes a joining member wait
``session_timeout_ms - 1 s`` after another left, so a short timeout keeps restarts quick. Real
Kafka refuses timeouts below ``group.min.session.timeout.ms`` (6 s by default)."""

_MOCK_CLUSTER_ID = "mockCluster"
_TIMEOUT_MS = 5_000
_RUNNING: set[str] = set()


def note_running(bootstrap: str) -> None:
    """An embedded broker in this process now serves ``bootstrap``."""
    _RUNNING.add(bootstrap)


def note_stopped(bootstrap: str) -> None:
    _RUNNING.discard(bootstrap)


def is_embedded(bootstrap: str) -> bool:
    """Whether ``bootstrap`` is an embedded broker: one running in this process, or (asked over
    the wire, once per address) a ``gateway broker`` elsewhere. False if it cannot be reached."""
    return bootstrap in _RUNNING or _names_itself_mock(bootstrap)


@functools.cache
def _names_itself_mock(bootstrap: str) -> bool:
    # In a thread with a loop of its own, so that callers inside an event loop may ask too.
    with ThreadPoolExecutor(1, thread_name_prefix="dx-cluster-id") as pool:
        cluster_id = pool.submit(asyncio.run, _cluster_id(bootstrap)).result()
    return (cluster_id or "").startswith(_MOCK_CLUSTER_ID)


async def _cluster_id(bootstrap: str) -> str | None:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=_TIMEOUT_MS)
    try:
        await client.bootstrap()
        node = client.get_random_node()
        if node is None:
            return None
        metadata = await client.send(node, MetadataRequest([]))
    except (KafkaError, OSError, TimeoutError):
        return None
    finally:
        await client.close()
    cluster_id = getattr(metadata, "cluster_id", None)  # in Metadata v2 and later
    return cluster_id if isinstance(cluster_id, str) else None
