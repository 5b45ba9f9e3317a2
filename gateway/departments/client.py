"""The client departmental systems use to talk to the gateway over Kafka (aiokafka).

As a requester, a department publishes :class:`ExchangeRequest` messages on ``dx.requests.<dept>``
and receives :class:`Reply` messages on ``dx.replies.<dept>``. One background consumer per
client reads the replies topic, assigned every partition and positioned at its end before
:meth:`DepartmentClient.start` returns, so no reply to a request sent afterwards can be missed;
waiting callers are matched by request id.

As a provider, a department answers :class:`RoutedRequest` messages from ``dx.inbox.<dept>`` with
:meth:`DepartmentClient.serve`: batch in, answers out on ``dx.responses.<dept>``, inbox offsets
committed only once every answer of the batch is acknowledged (at least once; the gateway
recognises a second answer to the same request and does not release it).

Both directions trust only the gateway: every reply and routed request must carry its signature
over the message's bytes and topic (:mod:`gateway.envelope.signature`), checked with the gateway's
public key (``gateway_key``; by default the one shipped in ``config/``). Anything else (unsigned,
forged, or a genuine message copied from another department's topic) is logged, counted in
:attr:`DepartmentClient.rejected` and ignored; a caller keeps waiting for the genuine reply.

::

    async with DepartmentClient("nhs", "localhost:9092") as nhs:
        reply = await nhs.request(
            "ho", "nhs-ho-status-check", "overseas-visitor-charging",
            {"person_id": "HO-000123", "date_of_birth": "1990-04-01"},
        )
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Self

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.departments.answers import Answer, Handler, build_response
from gateway.envelope.codec import Codec
from gateway.envelope.models import (
    ExchangeRequest,
    ProviderResponse,
    Reply,
    ResponseStatus,
    RoutedRequest,
)
from gateway.envelope.signature import MessageVerifier
from gateway.errors import EnvelopeError, GatewayError, TransportError
from gateway.keys import KeySource
from gateway.transport.topics import READ_COMMITTED, TopicNames

__all__ = [
    "ClientClosedError",
    "DepartmentClient",
    "DepartmentClientError",
    "ExchangeTimeout",
]

log = logging.getLogger("gateway.departments")

_POLL_MS = 50
_DEFAULT_TOPICS = TopicNames()


def _now_ms() -> datetime:
    """Now, to the millisecond the wire format keeps, so a sent request equals its decoded self."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class DepartmentClientError(GatewayError):
    """A problem in a department's use of the gateway."""

    code = "department_client_error"


class ExchangeTimeout(DepartmentClientError):
    """No reply arrived in time. Retry with a *new* request id: a reused one is a duplicate."""

    code = "exchange_timeout"
    retriable: ClassVar[bool] = True

    def __init__(self, request_id: str, timeout: float) -> None:
        self.request_id = request_id
        self.timeout = timeout
        super().__init__(f"no reply to request {request_id} within {timeout:g}s")


class ClientClosedError(DepartmentClientError):
    """The client is not started, or stopped while a caller waited for a reply."""

    code = "client_closed"


class DepartmentClient:
    """One department's connection to the gateway: send requests, await replies, serve an inbox.

    Use ``async with``, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        dept: str,
        bootstrap: str,
        *,
        topics: TopicNames = _DEFAULT_TOPICS,
        codec: Codec | None = None,
        gateway_key: Ed25519PublicKey | KeySource | None = None,
    ) -> None:
        """``gateway_key``: the gateway's message signing public key (a key, PEM path or PEM
        text); None: ``config/message-signing.pub``."""
        self.dept = dept
        self.topics = topics
        self.rejected = 0
        """Replies and routed requests ignored because they do not carry the gateway's
        signature for this department's topic."""
        self._bootstrap = bootstrap
        self._codec = codec or Codec.default()
        self._verifier = MessageVerifier(gateway_key)
        self._producer: AIOKafkaProducer | None = None
        self._replies: AIOKafkaConsumer | None = None
        self._reply_task: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Reply]] = {}

    # --- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, and position the reply consumer at the end of ``dx.replies.<dept>``."""
        if self._producer is not None:
            raise DepartmentClientError(f"the client for {self.dept!r} is already started")
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=f"dx-{self.dept}",
            acks="all",
            enable_idempotence=True,
        )
        replies = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            isolation_level=READ_COMMITTED,
            client_id=f"dx-{self.dept}-replies",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=_POLL_MS,
        )
        try:
            await producer.start()
            await replies.start()
            topic = self.topics.replies(self.dept)
            partitions = await producer.partitions_for(topic)
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            replies.assign(tps)
            await replies.seek_to_end(*tps)
            for tp in tps:  # resolves the end offsets now, before any request can be sent
                await replies.position(tp)
        except BaseException as exc:
            await replies.stop()
            await producer.stop()
            if isinstance(exc, KafkaError):
                raise TransportError(
                    f"cannot connect {self.dept!r} to {self._bootstrap}: {exc}"
                ) from exc
            raise
        self._producer, self._replies = producer, replies
        self._reply_task = asyncio.create_task(
            self._read_replies(replies), name=f"{self.dept}-replies"
        )

    async def stop(self) -> None:
        """Disconnect; callers still waiting for a reply get :class:`ClientClosedError`."""
        task, self._reply_task = self._reply_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for request_id, future in self._pending.items():
            if not future.done():
                future.set_exception(
                    ClientClosedError(f"client stopped before request {request_id} was answered")
                )
        self._pending.clear()
        replies, self._replies = self._replies, None
        producer, self._producer = self._producer, None
        if replies is not None:
            await replies.stop()
        if producer is not None:
            await producer.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- requesting -------------------------------------------------------------------------

    def new_request(
        self,
        provider: str,
        agreement_id: str,
        purpose: str,
        query: Mapping[str, str],
        wanted: Sequence[str] = (),
    ) -> ExchangeRequest:
        """A request from this department with a fresh id, stamped now."""
        return ExchangeRequest(
            request_id=uuid.uuid4().hex,
            requester=self.dept,
            provider=provider,
            agreement_id=agreement_id,
            purpose=purpose,
            query=dict(query),
            wanted=list(wanted),
            sent_at=_now_ms(),
        )

    async def request(
        self,
        provider: str,
        agreement_id: str,
        purpose: str,
        query: Mapping[str, str],
        wanted: Sequence[str] = (),
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - covers publishing and the wait for the reply
    ) -> Reply:
        """Ask ``provider`` under an agreement and purpose; return the gateway's reply.

        ``wanted`` empty means every field the purpose allows. Raises :class:`ExchangeTimeout`.
        """
        request = self.new_request(provider, agreement_id, purpose, query, wanted)
        return await self.exchange(request, timeout=timeout)

    async def exchange(
        self,
        request: ExchangeRequest,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - covers publishing and the wait for the reply
    ) -> Reply:
        """Publish a prepared request and return the reply carrying its request id."""
        request_id = request.request_id
        if request_id in self._pending:
            raise DepartmentClientError(f"request {request_id} is already awaiting a reply")
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            async with asyncio.timeout(timeout):
                await self.publish(request)
                return await future
        except TimeoutError:
            raise ExchangeTimeout(request_id, timeout) from None
        finally:
            if self._pending.get(request_id) is future:
                del self._pending[request_id]

    async def request_many(
        self,
        requests: Iterable[ExchangeRequest],
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - applies to each request
        max_in_flight: int = 1000,
    ) -> list[Reply | ExchangeTimeout]:
        """Exchange many requests concurrently; results in input order, timeouts as values.

        At most ``max_in_flight`` requests await replies at once; ``timeout`` applies to each.
        """
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight}")
        slots = asyncio.Semaphore(max_in_flight)

        async def one(request: ExchangeRequest) -> Reply | ExchangeTimeout:
            async with slots:
                try:
                    return await self.exchange(request, timeout=timeout)
                except ExchangeTimeout as exc:
                    return exc

        return list(await asyncio.gather(*(one(r) for r in requests)))

    async def publish(self, request: ExchangeRequest) -> None:
        """Send a request as it is, on this department's requests topic, without awaiting a reply.

        Nothing checks that ``request.requester`` is this department: the gateway does that.
        """
        await self._send(
            self.topics.requests(self.dept), request.request_id, self._codec.encode(request)
        )

    # --- providing --------------------------------------------------------------------------

    async def serve(
        self,
        handler: Handler,
        *,
        group_id: str | None = None,
        stop: asyncio.Event | None = None,
        max_records: int = 500,
        consumer_config: Mapping[str, Any] | None = None,
    ) -> int:
        """Answer routed requests from ``dx.inbox.<dept>`` until ``stop`` is set (or cancelled).

        ``handler`` may be sync or async. Consumers sharing ``group_id`` (default
        ``<prefix>.<dept>.inbox``) share the inbox's partitions; ``consumer_config`` adds
        AIOKafkaConsumer settings (group timeouts, for example). Returns the number answered.
        """
        producer = self._require_producer()
        consumer = AIOKafkaConsumer(
            self.topics.inbox(self.dept),
            isolation_level=READ_COMMITTED,
            **{
                "bootstrap_servers": self._bootstrap,
                "client_id": f"dx-{self.dept}-inbox",
                "auto_offset_reset": "earliest",
                "fetch_max_wait_ms": _POLL_MS,
                **(consumer_config or {}),
                "group_id": group_id or f"{self.topics.prefix}.{self.dept}.inbox",
                "enable_auto_commit": False,
            },
        )
        await consumer.start()
        answered = 0
        try:
            while stop is None or not stop.is_set():
                batch = await consumer.getmany(timeout_ms=_POLL_MS, max_records=max_records)
                if not batch:
                    continue
                acks: list[asyncio.Future[Any]] = []
                offsets: dict[TopicPartition, int] = {}
                for tp, messages in batch.items():
                    for message in messages:
                        routed = self._decode_routed(message, tp)
                        if routed is not None:
                            response = await self._respond(handler, routed)
                            acks.append(
                                await producer.send(
                                    self.topics.responses(self.dept),
                                    self._codec.encode(response),
                                    key=response.request_id.encode(),
                                )
                            )
                    offsets[tp] = messages[-1].offset + 1
                try:
                    await asyncio.gather(*acks)
                except KafkaError as exc:
                    raise TransportError(f"{self.dept!r} could not send responses: {exc}") from exc
                answered += len(acks)
                try:
                    await consumer.commit(offsets)
                except CommitFailedError as exc:  # partitions moved; the batch comes back
                    log.warning(
                        "%s inbox: commit failed, batch will be redelivered: %s", self.dept, exc
                    )
        finally:
            await consumer.stop()
        return answered

    # --- internals --------------------------------------------------------------------------

    def _require_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise ClientClosedError(f"the client for {self.dept!r} is not started")
        return self._producer

    async def _send(self, topic: str, key: str, value: bytes) -> None:
        producer = self._require_producer()
        try:
            await producer.send_and_wait(topic, value, key=key.encode())
        except KafkaError as exc:
            raise TransportError(f"could not publish to {topic}: {exc}") from exc

    async def _read_replies(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                batch = await consumer.getmany(timeout_ms=1000)
            except KafkaError as exc:
                log.warning("%s replies: fetch failed, retrying: %s", self.dept, exc)
                await asyncio.sleep(0.5)
                continue
            for tp, messages in batch.items():
                for message in messages:
                    self._resolve(message, tp)

    def _resolve(self, message: Any, tp: TopicPartition) -> None:
        if not self._from_gateway(message, tp, "replies"):
            return
        try:
            reply = self._codec.decode(message.value or b"", Reply)
        except EnvelopeError as exc:
            log.warning(
                "%s replies: skipped undecodable message at %s@%d: %s",
                self.dept,
                tp,
                message.offset,
                exc,
            )
            return
        future = self._pending.get(reply.request_id)
        if future is not None and not future.done():
            future.set_result(reply)

    def _decode_routed(self, message: Any, tp: TopicPartition) -> RoutedRequest | None:
        if not self._from_gateway(message, tp, "inbox"):
            return None
        try:
            return self._codec.decode(message.value or b"", RoutedRequest)
        except EnvelopeError as exc:
            log.warning(
                "%s inbox: skipped undecodable message at %s@%d: %s",
                self.dept,
                tp,
                message.offset,
                exc,
            )
            return None

    def _from_gateway(self, message: Any, tp: TopicPartition, what: str) -> bool:
        """Whether ``message`` carries the gateway's signature for ``tp``'s topic; if not, it is
        logged and counted, and must be ignored."""
        problem = self._verifier.problem(tp.topic, message.value, message.headers)
        if problem is None:
            return True
        self.rejected += 1
        log.warning(
            "%s %s: ignored a message not from the gateway at %s@%d: %s",
            self.dept,
            what,
            tp,
            message.offset,
            problem,
        )
        return False

    async def _respond(self, handler: Handler, routed: RoutedRequest) -> ProviderResponse:
        try:
            result = handler(routed)
            answer = await result if inspect.isawaitable(result) else result
        except Exception as exc:  # a handler bug must not stop the inbox
            log.exception("%s inbox: handler failed on request %s", self.dept, routed.request_id)
            answer = Answer(
                ResponseStatus.ERROR, error=f"the provider could not answer ({type(exc).__name__})"
            )
        return build_response(routed, answer, responder=self.dept, codec=self._codec)
