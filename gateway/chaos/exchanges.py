"""The campaign's traffic: requests sent at a steady rate, and every reply read back.

Requests go out through one :class:`~gateway.departments.DepartmentClient` per requesting
department without waiting for their replies (a reply can take a while when its partition is
being handed over). A separate group-less, read-committed consumer reads every partition of the
requesters' replies topics from the beginning (the campaign's topics are its own) and keeps
every reply it finds, so a second reply to one request is seen too, not only the first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.departments.client import DepartmentClient
from gateway.envelope.codec import Codec
from gateway.envelope.models import ExchangeRequest, Reply
from gateway.envelope.signature import MessageVerifier
from gateway.errors import EnvelopeError, GatewayError
from gateway.synthetic.traffic import PlannedRequest
from gateway.transport.closing import stop_client
from gateway.transport.topics import READ_COMMITTED, TopicNames

__all__ = ["ReplyCollector", "Sent", "send_steadily"]

log = logging.getLogger("gateway.chaos")

_SEND_ATTEMPTS = 5
_MAX_IN_FLIGHT = 2000


@dataclass(slots=True)
class Sent:
    """Requests published, by id, with the moment each was sent."""

    requests: dict[str, ExchangeRequest] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    """Requests whose publication failed every attempt: counted as sent (they may have been
    written) and so as lost if never answered."""


async def send_steadily(
    plan: Sequence[PlannedRequest],
    clients: dict[str, DepartmentClient],
    rate_per_s: float,
    sent: Sent,
) -> None:
    """Publish ``plan`` at ``rate_per_s``; a failed send is retried with the same request (the
    gateway answers a repeated request id once)."""
    slots = asyncio.Semaphore(_MAX_IN_FLIGHT)

    async def one(client: DepartmentClient, request: ExchangeRequest) -> None:
        async with slots:
            for attempt in range(_SEND_ATTEMPTS):
                try:
                    await client.publish(request)
                    return
                except GatewayError as exc:
                    log.warning(
                        "send of %s failed (%s), attempt %d", request.request_id, exc, attempt + 1
                    )
                    await asyncio.sleep(1.0)
            sent.failed.append(request.request_id)

    began = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    for i, planned in enumerate(plan):
        delay = began + i / rate_per_s - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        client = clients[planned.requester]
        request = client.new_request(
            planned.provider, planned.agreement_id, planned.purpose, planned.query, planned.wanted
        )
        sent.requests[request.request_id] = request
        tasks.append(asyncio.create_task(one(client, request)))
    await asyncio.gather(*tasks)


class ReplyCollector:
    """Every reply on the requesters' replies topics, by request id."""

    def __init__(
        self,
        bootstrap: str,
        topics: TopicNames,
        requesters: Sequence[str],
        codec: Codec,
        partitions: int,
        gateway_key: Ed25519PublicKey | None = None,
    ) -> None:
        """``gateway_key``: the gateway's message signing public key (None: the shipped one)."""
        self._bootstrap = bootstrap
        self._topics = [topics.replies(dept) for dept in sorted(set(requesters))]
        self._codec = codec
        self._partitions = partitions
        self._verifier = MessageVerifier(gateway_key)
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.replies: dict[str, list[Reply]] = {}
        self.rejected: list[str] = []
        """Messages on a replies topic not signed by the gateway for it, or undecodable."""
        self.last_reply_at = time.monotonic()

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            isolation_level=READ_COMMITTED,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
        )
        await consumer.start()
        tps = [TopicPartition(t, p) for t in self._topics for p in range(self._partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        self._consumer = consumer
        self._task = asyncio.create_task(self._read(consumer), name="chaos-replies")

    async def caught_up(self, within: float = 60.0) -> bool:
        """Whether the reader reached the (committed) end of every partition within ``within``."""
        assert self._consumer is not None
        consumer = self._consumer
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                ends = await consumer.end_offsets(list(consumer.assignment()))
                behind = [tp for tp, end in ends.items() if await consumer.position(tp) < end]
                if not behind:
                    return True
            except KafkaError as exc:
                log.warning("end offsets of the replies topics: %s", exc)
            await asyncio.sleep(0.5)
        return False

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await stop_client(consumer, "chaos replies reader", 10.0)

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            except KafkaError as exc:
                log.warning("replies: fetch failed, retrying: %s", exc)
                await asyncio.sleep(0.5)
                continue
            for tp, messages in batch.items():
                for message in messages:
                    self._keep(tp, message)

    def _keep(self, tp: TopicPartition, message: object) -> None:
        value: bytes = getattr(message, "value", None) or b""
        where = f"{tp.topic}[{tp.partition}]@{getattr(message, 'offset', '?')}"
        problem = self._verifier.problem(tp.topic, value, getattr(message, "headers", ()))
        if problem is not None:
            self.rejected.append(f"{where}: {problem}")
            return
        try:
            reply = self._codec.decode(value, Reply)
        except EnvelopeError as exc:
            self.rejected.append(f"{where}: {exc}")
            return
        self.replies.setdefault(reply.request_id, []).append(reply)
        self.last_reply_at = time.monotonic()
