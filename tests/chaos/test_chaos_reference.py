"""The campaign's check of each reply: the pure processor's reply to the same request, compared
field by field, so a reply with any other outcome, reason, status or content counts as wrong."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from processor_support import POLICIES

from gateway.chaos.reference import ReferenceReplies, differences
from gateway.envelope.codec import Codec
from gateway.envelope.models import ExchangeRequest, Reason, Reply, ReplyOutcome, ResponseStatus
from gateway.service import build_processor
from gateway.settings import GatewaySettings
from gateway.synthetic.traffic import plan_requests
from gateway.transport.topics import TopicNames

CODEC = Codec.default()
TOPICS = TopicNames("ref")


@pytest.fixture(scope="module")
def expected() -> list[tuple[bool, Reply | None]]:
    """(denial expected by the traffic plan, the reference's reply) for 300 planned requests."""
    settings = GatewaySettings(topic_prefix=TOPICS.prefix, policies_dir=POLICIES)
    reference = ReferenceReplies(build_processor(settings, CODEC), TOPICS, CODEC)
    now = datetime.now(UTC).replace(microsecond=0)
    out = []
    for i, planned in enumerate(plan_requests(300, seed=5)):
        request = ExchangeRequest(
            request_id=f"r{i}",
            requester=planned.requester,
            provider=planned.provider,
            agreement_id=planned.agreement_id,
            purpose=planned.purpose,
            query=dict(planned.query),
            wanted=list(planned.wanted),
            sent_at=now,
        )
        out.append((planned.expect_denied, reference.expected(request, now)))
    return out


def test_the_reference_answers_every_request_and_denies_exactly_the_planned_denials(
    expected: list[tuple[bool, Reply | None]],
) -> None:
    assert all(reply is not None for _, reply in expected)
    assert all(
        (reply.outcome is ReplyOutcome.DENIED) == denied
        for denied, reply in expected
        if reply is not None
    )
    statuses = Counter(reply.status for _, reply in expected if reply is not None)
    assert statuses[ResponseStatus.FOUND] > 100  # answered from the departments' datasets
    assert statuses[ResponseStatus.NOT_FOUND] > 0


def test_a_reply_equal_to_the_reference_but_for_its_time_is_right(
    expected: list[tuple[bool, Reply | None]],
) -> None:
    reply = next(r for _, r in expected if r is not None and r.status is ResponseStatus.FOUND)
    later = reply.model_copy(update={"replied_at": datetime(2030, 1, 1, tzinfo=UTC)})

    assert differences(later, reply) == []


def test_a_reply_with_another_outcome_reason_or_record_is_wrong(
    expected: list[tuple[bool, Reply | None]],
) -> None:
    reply = next(r for _, r in expected if r is not None and r.status is ResponseStatus.FOUND)
    record = json.loads(reply.record_json or "{}")
    leaked = {**record, "address": "1 High Street"}

    assert differences(reply.model_copy(update={"outcome": ReplyOutcome.DENIED}), reply) == [
        "outcome"
    ]
    assert differences(
        reply.model_copy(update={"reasons": [Reason(code="x", message="y")]}), reply
    ) == ["reasons"]
    assert differences(reply.model_copy(update={"record_json": json.dumps(leaked)}), reply) == [
        "record_json"
    ]
    assert differences(reply, None) == ["the policy gives no reply to this request"]
