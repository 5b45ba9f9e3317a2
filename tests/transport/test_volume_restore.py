"""After a restart, today's approvals are read back from the audit log into the volume caps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from gateway.audit.subject import SubjectKeyer
from gateway.envelope.codec import Codec
from gateway.envelope.models import ExchangeRequest
from gateway.exchange.messages import InputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.exchange.tokens import TokenSigner
from gateway.policy import InMemoryVolumeCounter, PolicySet, compile_policies
from gateway.transport.topics import TopicNames
from gateway.transport.volume_restore import restore_volume, start_of_utc_day

pytestmark = pytest.mark.kafka

CODEC = Codec.default()
KEY = ("nhs-ho-capped", "status", "nhs")


def _processor() -> ExchangeProcessor:
    agreement: dict[str, Any] = {
        "id": "nhs-ho-capped",
        "title": "t",
        "requester": "nhs",
        "provider": "ho",
        "legal_basis": "b",
        "reference": "r",
        "owner": "o",
        "status": "active",
        "valid_from": "2020-01-01",
        "purposes": [
            {
                "id": "status",
                "description": "d",
                "subject_identifiers": ["person_id"],
                "request_fields": ["person_id"],
                "response_fields": ["immigration_status"],
                "caps": {"per_hour": 3},
            }
        ],
    }
    return ExchangeProcessor(
        policy=compile_policies(PolicySet.of([agreement])),
        codec=CODEC,
        topics=TopicNames(),
        signer=TokenSigner(b"test-token-secret-0123456789"),
        subjects=SubjectKeyer(b"test-subject-secret-0123456789"),
        instance_id="gw-test",
    )


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


def test_the_day_starts_at_midnight_utc() -> None:
    late = datetime(2025, 6, 1, 23, 30, tzinfo=UTC) + timedelta(hours=1)  # 00:30 on 2 June
    assert start_of_utc_day(late) == datetime(2025, 6, 2, tzinfo=UTC)


async def test_a_restarted_instance_counts_the_approvals_already_audited_today(
    bootstrap: str,
    topic_factory: Callable[..., str],
    producer_factory: Callable[..., Awaitable[AIOKafkaProducer]],
) -> None:
    audit_topic = topic_factory(partitions=2)
    now = datetime.now(UTC)
    before = _processor()
    out = before.process_batch(_requests(now, 5), now)  # 3 approved, 2 over the hourly cap
    producer = await producer_factory()
    for message in out.audit:
        await producer.send_and_wait(audit_topic, message.value, key=message.key)

    after = InMemoryVolumeCounter()
    counted = await restore_volume(
        after, bootstrap=bootstrap, audit_topic=audit_topic, codec=CODEC, now=now
    )

    assert counted == 3
    assert after.usage(KEY, now) == before.volume.usage(KEY, now) == (3, 3)
