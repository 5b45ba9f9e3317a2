"""Dead letters for operators: list them, look at one, replay one after a fix.

A dead letter holds the raw input, which may contain personal data, so what is shown by default
is its reason and where the input was; the payload only when asked for. A replay writes the
payload back to its original topic with its key and a ``dx-replay-of`` header naming the dead
letter; the gateway then processes it like any input, and its audit record carries an
``input.replayed`` reason naming the dead letter (so the replay is audited in the chain the
gateway writes, not by this tool, which must not write audit records itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from gateway.envelope.codec import Codec
from gateway.envelope.headers import REPLAY_OF, REPLAYED_BY
from gateway.envelope.models import DeadLetter
from gateway.errors import DecodeError, GatewayError, TransportError
from gateway.exchange.reasons import audit_safe
from gateway.transport.closing import stop_client
from gateway.transport.topics import READ_COMMITTED, TopicNames

__all__ = [
    "REPLAYED_BY",
    "REPLAY_OF",
    "DeadLetterEntry",
    "NoSuchDeadLetter",
    "find_dead_letter",
    "read_dead_letters",
    "replay_dead_letter",
]

_BY = re.compile(r"[A-Za-z0-9._@-]{1,64}")


class NoSuchDeadLetter(GatewayError):
    code = "deadletter.not_found"


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    """One dead letter and where it sits on the dead-letter topic."""

    partition: int
    offset: int
    letter: DeadLetter

    @property
    def ref(self) -> str:
        """``partition:offset`` on the dead-letter topic."""
        return f"{self.partition}:{self.offset}"

    def summary(self, *, payload: bool = False) -> dict[str, Any]:
        """What an operator may see: reason and coordinates; key and payload only if asked."""
        letter = self.letter
        out: dict[str, Any] = {
            "ref": self.ref,
            "dead_letter_id": letter.dead_letter_id,
            "at": letter.at.isoformat(),
            "error_code": letter.error_code,
            "reason": audit_safe(letter.reason),
            "input_topic": letter.input_topic,
            "input_partition": letter.input_partition,
            "input_offset": letter.input_offset,
            "gateway_instance": letter.gateway_instance,
            "payload_bytes": len(letter.payload),
        }
        if payload:
            out["reason"] = letter.reason
            out["key_hex"] = letter.key.hex() if letter.key is not None else None
            out["payload_hex"] = letter.payload.hex()
        return out


async def read_dead_letters(
    bootstrap: str, prefix: str = "dx", *, limit: int | None = 20, codec: Codec | None = None
) -> list[DeadLetterEntry]:
    """The dead letters the topic holds, oldest first; with ``limit``, only the newest that
    many of each partition are read (then the newest ``limit`` overall are returned)."""
    codec = codec or Codec.default()
    topic = TopicNames(prefix).deadletter
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        request_timeout_ms=10_000,
        isolation_level=READ_COMMITTED,
    )
    entries: list[DeadLetterEntry] = []
    try:
        await consumer.start()
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:  # not in the metadata fetched at start: ask for it now
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
        for tp in tps:
            start = begin[tp] if limit is None else max(begin[tp], end[tp] - limit)
            consumer.seek(tp, start)
        pending = {tp for tp in tps if end[tp] > (await consumer.position(tp))}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            if not batch:
                break
            for tp, records in batch.items():
                for r in records:
                    try:
                        letter = codec.decode(r.value, DeadLetter)
                    except DecodeError:
                        continue
                    entries.append(DeadLetterEntry(tp.partition, r.offset, letter))
                if records[-1].offset + 1 >= end[tp]:
                    pending.discard(tp)
    except KafkaError as exc:
        raise TransportError(f"cannot read {topic} at {bootstrap}: {exc}") from None
    finally:
        await stop_client(consumer, "the dead-letter reader", 5.0)
    entries.sort(key=lambda e: (e.letter.at, e.partition, e.offset))
    return entries if limit is None else entries[-limit:]


async def find_dead_letter(bootstrap: str, prefix: str, ref: str) -> DeadLetterEntry:
    """A dead letter by its id or by ``partition:offset`` on the dead-letter topic."""
    for entry in await read_dead_letters(bootstrap, prefix, limit=None):
        if ref in (entry.letter.dead_letter_id, entry.ref):
            return entry
    raise NoSuchDeadLetter(f"no dead letter {ref!r} on {TopicNames(prefix).deadletter}")


async def replay_dead_letter(bootstrap: str, entry: DeadLetterEntry, by: str) -> tuple[int, int]:
    """Write the dead letter's input back to its topic; returns its new partition and offset."""
    if not _BY.fullmatch(by):
        raise NoSuchDeadLetter(f"--by must be a name of letters, digits and ._@-, not {by!r}")
    letter = entry.letter
    headers = [
        (REPLAY_OF, letter.dead_letter_id.encode()),
        (REPLAYED_BY, by.encode()),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=10_000)
    try:
        await producer.start()
        sent = await producer.send_and_wait(
            letter.input_topic,
            letter.payload,
            key=letter.key,
            partition=letter.input_partition,
            headers=headers,
        )
    except KafkaError as exc:
        raise TransportError(f"cannot replay to {letter.input_topic}: {exc}") from None
    finally:
        await stop_client(producer, "the replay producer", 5.0)
    return int(sent.partition), int(sent.offset)
