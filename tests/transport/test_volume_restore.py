"""Gaining capped partitions, an instance reads today's approvals of their cap keys back from the
audit log into their volume counters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from capped_support import CODEC, KEY, capped_processor

from gateway.envelope.models import ExchangeRequest
from gateway.exchange.messages import InputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.policy import InMemoryVolumeCounter, cap_key_bytes
from gateway.transport.topics import TopicNames
from gateway.transport.volume_restore import cap_partition, restore_volume, start_of_utc_day

pytestmark = pytest.mark.kafka

CAPPED = 4
OWNER = cap_partition(KEY, CAPPED)


def _processor() -> ExchangeProcessor:
    return capped_processor(TopicNames(), {"per_hour": 3})


def _decided(processor: ExchangeProcessor, now: datetime, count: int) -> list[bytes]:
    """The audit records of ``count`` requests, forwarded and decided by the key's owner."""
    forwards = processor.process_batch(_requests(now, count), now).routed
    capped = [InputMessage(f.topic, OWNER, i, f.key, f.value) for i, f in enumerate(forwards)]
    return [m.value for m in processor.process_batch(capped, now).audit]


def _requests(now: datetime, count: int) -> list[InputMessage]:
    return [
        InputMessage(
            "dx.requests.nhs",
            0,
            i,
            b"k",
            CODEC.encode(
                ExchangeRequest(
                    request_id=f"req-{i}",
                    requester="nhs",
                    provider="ho",
                    agreement_id="nhs-ho-capped",
                    purpose="status",
                    query={"person_id": f"HO-{i}"},
                    sent_at=now,
                )
            ),
        )
        for i in range(count)
    ]


def test_a_cap_key_lands_where_the_producers_default_partitioner_puts_it() -> None:
    keys = [("a", "b", dept) for dept in ("dfe", "dwp", "hmrc", "ho", "nhs", "rtw")] + [KEY]
    for key in keys:
        for count in (1, 2, 3, 4, 12):
            expected = DefaultPartitioner()(cap_key_bytes(key), list(range(count)), [])
            assert cap_partition(key, count) == expected


def test_the_day_starts_at_midnight_utc() -> None:
    late = datetime(2025, 6, 1, 23, 30, tzinfo=UTC) + timedelta(hours=1)  # 00:30 on 2 June
    assert start_of_utc_day(late) == datetime(2025, 6, 2, tzinfo=UTC)


async def test_a_new_owner_counts_the_approvals_of_its_partitions_already_audited_today(
    bootstrap: str,
    topic_factory: Callable[..., str],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
) -> None:
    audit_topic = topic_factory(partitions=2)
    now = datetime.now(UTC)
    before = _processor()
    before.restore_caps({OWNER: InMemoryVolumeCounter()})
    audit = _decided(before, now, 5)  # 3 approved, 2 over the hourly cap
    producer = await producer_factory()
    for value in audit:
        await producer.send_and_wait(audit_topic, value)

    owned, other = InMemoryVolumeCounter(), InMemoryVolumeCounter()
    counted = await restore_volume(
        {OWNER: owned, (OWNER + 1) % CAPPED: other},
        bootstrap=bootstrap,
        audit_topic=audit_topic,
        codec=CODEC,
        now=now,
        partition_of=lambda key: cap_partition(key, CAPPED),
    )

    assert counted == 3
    assert owned.usage(KEY, now) == before.cap_counters[OWNER].usage(KEY, now) == (3, 3)
    assert other.usage(KEY, now) == (0, 0)  # another partition's owner does not count this key
