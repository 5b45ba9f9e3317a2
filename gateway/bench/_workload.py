"""What the benchmark feeds the gateway and how it plays the providers.

Requests follow the shipped traffic mix (:func:`gateway.synthetic.traffic.plan_requests`):
mostly valid ones for subjects in the synthetic datasets, some the gateway must deny or trim.
Every inbox is answered from those datasets with :func:`gateway.departments.build_response`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from gateway.departments import DepartmentClient, answer_from_dataset, build_response
from gateway.departments.answers import index_records
from gateway.envelope.codec import Codec
from gateway.envelope.datasets import SUBJECT_IDENTIFIER_BY_PROVIDER
from gateway.envelope.models import RoutedRequest
from gateway.exchange.messages import OutputMessage
from gateway.synthetic.datasets import DEFAULT_SIZE, generate
from gateway.synthetic.traffic import plan_requests
from gateway.transport.produce import send_and_wait_all
from gateway.transport.topics import READ_COMMITTED, TopicNames

__all__ = ["Inputs", "encode_requests", "produce", "serve_inboxes"]


@dataclass(slots=True)
class Inputs:
    """The encoded requests (for the gateway's ``requests`` topics) and their ids."""

    messages: list[OutputMessage]
    ids: set[str] = field(default_factory=set)


def encode_requests(
    n: int,
    seed: int,
    topics: TopicNames,
    bootstrap: str,
    codec: Codec,
    *,
    shapes: int | None = None,
) -> Inputs:
    """The traffic mix (mostly valid requests, some the gateway must deny or trim), encoded;
    with ``shapes``, each kind and purpose asks in that many ways only (:func:`plan_requests`)."""
    clients: dict[str, DepartmentClient] = {}
    inputs = Inputs(messages=[])
    for planned in plan_requests(n, seed, shapes=shapes):
        client = clients.get(planned.requester)
        if client is None:  # never started: only its request factory is used
            client = clients[planned.requester] = DepartmentClient(
                planned.requester, bootstrap, topics=topics, codec=codec
            )
        request = client.new_request(
            planned.provider, planned.agreement_id, planned.purpose, planned.query, planned.wanted
        )
        inputs.ids.add(request.request_id)
        inputs.messages.append(
            OutputMessage(
                topics.requests(request.requester),
                request.request_id.encode(),
                codec.encode(request),
            )
        )
    return inputs


async def produce(bootstrap: str, messages: Sequence[OutputMessage]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=1024 * 1024
    )
    await producer.start()
    try:
        await send_and_wait_all(producer, messages)
    finally:
        await producer.stop()


async def serve_inboxes(
    bootstrap: str, topics: TopicNames, codec: Codec, stop: asyncio.Event
) -> int:
    """Answer every provider's inbox from its synthetic dataset until ``stop``; returns the
    number of responses sent."""
    handlers = {
        dept: answer_from_dataset(index_records(generate(dept, DEFAULT_SIZE), ident), ident)
        for dept, ident in SUBJECT_IDENTIFIER_BY_PROVIDER.items()
    }
    consumer = AIOKafkaConsumer(
        isolation_level=READ_COMMITTED,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await consumer.start()
    await producer.start()
    answered = 0
    try:
        tps = [
            TopicPartition(topics.inbox(dept), p)
            for dept in handlers
            for p in sorted(await producer.partitions_for(topics.inbox(dept)))
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=50, max_records=2000)
            out = []
            for tp, records in batch.items():
                dept = tp.topic.rpartition(".")[2]
                for record in records:
                    routed = codec.decode(record.value, RoutedRequest)
                    response = build_response(
                        routed, handlers[dept](routed), responder=dept, codec=codec
                    )
                    out.append(
                        OutputMessage(topics.responses(dept), record.key, codec.encode(response))
                    )
            await send_and_wait_all(producer, out)
            answered += len(out)
    finally:
        await consumer.stop()
        await producer.stop()
    return answered
