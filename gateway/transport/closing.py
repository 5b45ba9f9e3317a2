"""Closing aiokafka clients within a bounded time, whatever the broker does.

``AIOKafkaConsumer.stop()`` and ``AIOKafkaProducer.stop()`` can wait for a broker that is gone
(leaving the group, flushing pending batches) for as long as their request timeouts allow, and
aiokafka 0.14's fetcher lets the cancellation of a fetch that was backing off after an error
escape ``stop()`` as a ``CancelledError``, before the client's connections are closed. Here a
client gets ``within`` seconds to stop; otherwise its remaining tasks are cancelled and its
connections closed, so nothing is left unclosed and no cancellation escapes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

__all__ = ["stop_client"]

log = logging.getLogger("gateway.runner")


async def stop_client(client: Any, name: str, within: float) -> bool:
    """Stop an aiokafka consumer or producer within ``within`` seconds; False if it had to be
    closed forcibly (its pending work, such as unacknowledged sends, is lost)."""
    try:
        async with asyncio.timeout(within):
            await client.stop()
        return True
    except TimeoutError:
        log.warning("%s did not stop within %.1fs; its connections are closed", name, within)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # we are being cancelled ourselves
        log.debug("%s: a fetch's cancellation escaped stop(); closing it here", name)
    await _close_forcibly(client)
    return False


async def _close_forcibly(client: Any) -> None:
    """What ``stop()`` did not get to: the fetcher's pending tasks, the producer's sender, and
    the connections (private aiokafka attributes, looked up defensively)."""
    tasks: list[asyncio.Task[Any]] = []
    fetcher = getattr(client, "_fetcher", None)
    if fetcher is not None:
        tasks += [t for t in getattr(fetcher, "_pending_tasks", ()) if not t.done()]
        fetch_task = getattr(fetcher, "_fetch_task", None)
        if fetch_task is not None and not fetch_task.done():
            tasks.append(fetch_task)
    sender = getattr(client, "_sender", None)
    sender_task = getattr(sender, "sender_task", None)
    if sender_task is not None and not sender_task.done():
        tasks.append(sender_task)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=1.0)
    connections = getattr(client, "_client", None) or getattr(client, "client", None)
    if connections is not None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await connections.close()
