"""Reference provider services built with faust-streaming: one faust app per department.

Each app has one faust stream processor on ``dx.inbox.<dept>`` that takes routed requests in batches
(``stream.take_events``), answers each from the department's synthetic dataset exactly as
:func:`gateway.departments.answer_from_dataset` does, and sends the :class:`ProviderResponse` to
``dx.responses.<dept>``. Every send of a batch is acknowledged before the next batch is taken,
so faust commits inbox offsets only for answered requests (at least once).

Like :class:`gateway.departments.DepartmentClient`, a service answers only what the gateway
signed for its inbox (:mod:`gateway.envelope.signature`): an unsigned, forged or altered message,
or a genuine one copied from another department's inbox, is logged, counted in ``rejected`` and
never answered.

The gateway's tools (``gateway departments``, the demo, the chaos campaign) find these services
as :data:`SERVICES` through the entry point ``reference`` of the group
:data:`gateway.departments.services.ENTRY_POINT_GROUP`; the gateway never imports this package.

The apps run inside the caller's event loop (``App.start()`` / ``App.stop()``, no faust Worker,
so no signal handlers and no logging set-up are taken over). They never create topics
(``topic_allow_declare=False``): besides each department's inbox and responses topics, faust
needs its leader-election topic ``<app-id>-__assignor-__leader`` with one partition, listed by
:func:`required_topics`. Faust's own logging is quiet (WARNING) unless asked otherwise.

``gateway departments --bootstrap HOST:PORT [--departments ho,nhs]`` (or ``python -m
consumers.departments`` with the same options) runs them until interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import faust
from aiokafka.errors import KafkaError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from faust.transport.drivers import aiokafka as faust_aiokafka

from gateway.departments.answers import build_response, index_records, lookup
from gateway.departments.services import DepartmentServices
from gateway.envelope.codec import Codec
from gateway.envelope.datasets import SUBJECT_IDENTIFIER_BY_PROVIDER
from gateway.envelope.models import RoutedRequest
from gateway.envelope.signature import MessageVerifier
from gateway.errors import EnvelopeError, TransportError
from gateway.keys import KeySource
from gateway.synthetic.datasets import DEFAULT_SEED, DEFAULT_SIZE, PROVIDERS, generate
from gateway.transport.topics import TopicNames

__all__ = [
    "INTERNAL_TOPIC_PARTITIONS",
    "SERVICES",
    "ReferenceDepartment",
    "ReferenceServices",
    "app_id",
    "main",
    "required_topics",
    "run_departments",
]

log = logging.getLogger("consumers.departments")

INTERNAL_TOPIC_PARTITIONS = 1
"""Partitions of each topic :func:`required_topics` names (faust's leader topic has one)."""

_DEFAULT_TOPICS = TopicNames()
_QUIET_LOGGERS = ("faust", "mode")
_FETCH_MAX_WAIT_MS = 50


class _QuickFetchConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread, asking the broker to hold an empty fetch 50 ms, not 1.5 s.

    faust fixes ``fetch_max_wait_ms=1500``, and the embedded broker holds an empty fetch that
    long even when records arrive meanwhile, so each inbox hop waited up to 1.5 s. Measured
    end to end (gateway, five departments, 100 requests/s): reply latency p50 800 ms before,
    120-200 ms after; one department's answer rate 730/s before, 1,400-1,900/s after.
    """

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = _FETCH_MAX_WAIT_MS  # read when the consumer starts
        return consumer


class _QuickFetchConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _QuickFetchConsumerThread:
        return _QuickFetchConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _QuickFetchTransport(faust_aiokafka.Transport):
    Consumer = _QuickFetchConsumer


# mode names a service's logger after its class's module; keep these under faust's loggers.
_QuickFetchConsumerThread.logger = _QuickFetchConsumer.logger = faust_aiokafka.logger


def app_id(dept: str, topics: TopicNames = _DEFAULT_TOPICS) -> str:
    """The faust app id (and consumer group) of ``dept``'s reference service."""
    return f"{topics.prefix}-dept-{dept}"


def required_topics(app_ids: Iterable[str]) -> list[str]:
    """Faust's internal topics for these app ids; create each with one partition beforehand."""
    return [f"{app}-__assignor-__leader" for app in app_ids]


class ReferenceDepartment:
    """One provider department as a faust app that answers its inbox from a dataset."""

    def __init__(
        self,
        dept: str,
        bootstrap: str,
        dataset: Mapping[str, Mapping[str, Any]],
        *,
        topics: TopicNames = _DEFAULT_TOPICS,
        codec: Codec | None = None,
        datadir: Path,
        batch_size: int = 1000,
        batch_within: float = 0.01,
        gateway_key: Ed25519PublicKey | KeySource | None = None,
    ) -> None:
        """``gateway_key``: the gateway's message signing public key (a key, PEM path or PEM
        text); None: ``config/message-signing.pub``."""
        if dept not in SUBJECT_IDENTIFIER_BY_PROVIDER:
            raise ValueError(f"{dept!r} provides no dataset; providers: {', '.join(PROVIDERS)}")
        self.dept = dept
        self.answered = 0
        self.skipped = 0
        """Inbox messages from the gateway that could not be decoded."""
        self.rejected = 0
        """Inbox messages ignored because they do not carry the gateway's signature for it."""
        self._verifier = MessageVerifier(gateway_key)
        self._dataset = dataset
        self._identifier = SUBJECT_IDENTIFIER_BY_PROVIDER[dept]
        self._codec = codec or Codec.default()
        self.app: Any = faust.App(
            app_id(dept, topics),
            broker=[f"kafka://{server.strip()}" for server in bootstrap.split(",")],
            topic_allow_declare=False,
            key_serializer="raw",
            value_serializer="raw",
            web_enabled=False,
            autodiscover=False,
            store="memory://",
            datadir=str(datadir / dept),
            consumer_auto_offset_reset="earliest",
            producer_acks=-1,
        )
        self.app.transport = _QuickFetchTransport(self.app.conf.broker_consumer, self.app)
        inbox = self.app.topic(topics.inbox(dept), key_type=bytes, value_type=bytes)
        self._responses_topic = topics.responses(dept)
        self._batch_size = batch_size
        self._batch_within = batch_within
        self.app.agent(inbox, name=f"{dept}-inbox")(self._answer_inbox)

    async def _answer_inbox(self, stream: Any) -> None:
        async for events in stream.take_events(self._batch_size, within=self._batch_within):
            deliveries = [await self._send(event.message) for event in events]
            sent = [d for d in deliveries if d is not None]
            await asyncio.gather(*sent)
            self.answered += len(sent)

    async def _send(self, message: Any) -> Any:
        """Answer one inbox message (a faust ``Message``); returns the send's delivery future,
        or None if it was not answered."""
        problem = self._verifier.problem(message.topic, message.value, message.headers)
        if problem is not None:
            self.rejected += 1
            log.warning(
                "%s inbox: ignored a message not from the gateway at %s[%d]@%d: %s",
                self.dept,
                message.topic,
                message.partition,
                message.offset,
                problem,
            )
            return None
        try:
            routed = self._codec.decode(message.value or b"", RoutedRequest)
        except EnvelopeError as exc:
            self.skipped += 1
            log.warning("%s inbox: skipped undecodable message: %s", self.dept, exc)
            return None
        answer = lookup(self._dataset, self._identifier, routed)
        response = build_response(routed, answer, responder=self.dept, codec=self._codec)
        # faust's producer directly: Topic.send adds per-message bookkeeping (sensors, a
        # FutureMessage) that halved the inbox throughput on the embedded broker.
        return await self.app.producer.send(
            self._responses_topic,
            response.request_id.encode(),
            self._codec.encode(response),
            None,  # partition: by key
            None,  # timestamp: now
            None,  # headers
        )

    async def start(self) -> None:
        await self.app.start()

    async def stop(self) -> None:
        await self.app.stop()


async def run_departments(
    bootstrap: str,
    depts: Sequence[str] = PROVIDERS,
    stop_event: asyncio.Event | None = None,
    *,
    topics: TopicNames = _DEFAULT_TOPICS,
    dataset_size: int = DEFAULT_SIZE,
    seed: int = DEFAULT_SEED,
    ready: asyncio.Event | None = None,
    quiet: bool = True,
    gateway_key: Ed25519PublicKey | KeySource | None = None,
) -> dict[str, int]:
    """Run reference services for ``depts`` until ``stop_event`` is set (or cancelled).

    Each answers from ``generate(dept, dataset_size, seed)``. The inbox, responses and
    :func:`required_topics` topics must exist. ``ready`` is set once every app has started.
    ``gateway_key``: the public key inbox messages must be signed with (None: the shipped one).
    Returns how many requests each department answered.
    """
    if quiet:
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    codec = Codec.default()
    stop_event = stop_event or asyncio.Event()
    with tempfile.TemporaryDirectory(prefix="dx-departments-") as datadir:
        running = [
            ReferenceDepartment(
                dept,
                bootstrap,
                index_records(
                    generate(dept, dataset_size, seed), SUBJECT_IDENTIFIER_BY_PROVIDER[dept]
                ),
                topics=topics,
                codec=codec,
                datadir=Path(datadir),
                gateway_key=gateway_key,
            )
            for dept in depts
        ]
        # together: each app spends about a second waiting for its (absent) tables
        starting: asyncio.Future[Any] = asyncio.ensure_future(
            asyncio.gather(*(s.start() for s in running))
        )
        stopping: asyncio.Future[Any] = asyncio.ensure_future(stop_event.wait())
        try:
            await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                try:
                    starting.result()  # raises if an app failed to start
                except KafkaError as exc:
                    raise TransportError(
                        f"reference departments cannot connect to {bootstrap}: {exc}"
                    ) from exc
                if ready is not None:
                    ready.set()
                await stopping
        finally:
            for future in (starting, stopping):
                future.cancel()
            await asyncio.gather(starting, stopping, return_exceptions=True)
            await asyncio.gather(*(service.stop() for service in running))
    return {service.dept: service.answered for service in running}


class ReferenceServices:
    """The reference departments as the gateway's tools run them (:class:`DepartmentServices`)."""

    topic_partitions = INTERNAL_TOPIC_PARTITIONS

    def extra_topics(self, depts: Iterable[str], topics: TopicNames) -> list[str]:
        return required_topics(app_id(dept, topics) for dept in depts)

    async def run(
        self,
        bootstrap: str,
        depts: Sequence[str],
        stop: asyncio.Event,
        *,
        topics: TopicNames,
        dataset_size: int,
        seed: int,
        ready: asyncio.Event | None = None,
        gateway_key: Ed25519PublicKey | KeySource | None = None,
    ) -> dict[str, int]:
        return await run_departments(
            bootstrap,
            depts,
            stop,
            topics=topics,
            dataset_size=dataset_size,
            seed=seed,
            ready=ready,
            gateway_key=gateway_key,
        )


SERVICES: DepartmentServices = ReferenceServices()
"""What the entry point ``reference`` names."""


def main(argv: list[str] | None = None) -> None:
    """``python -m consumers.departments``: the same command as ``gateway departments``."""
    from gateway.cli import main as cli_main
    from gateway.cli.departments import departments_command

    cli_main(argv, command=departments_command, prog_name="python -m consumers.departments")


if __name__ == "__main__":
    main()
