"""A processor under one capped agreement, for the tests of capped partitions and their counters."""

from __future__ import annotations

from typing import Any

from gateway.audit.subject import SubjectKeyer
from gateway.envelope.codec import Codec
from gateway.exchange.processor import ExchangeProcessor
from gateway.exchange.tokens import TokenSigner
from gateway.policy import PolicySet, compile_policies
from gateway.transport.topics import TopicNames

CODEC = Codec.default()
KEY = ("nhs-ho-capped", "status", "nhs")
"""The cap key (agreement, purpose, requester) every request of these tests falls under."""


def capped_processor(
    topics: TopicNames, caps: dict[str, int], audit_partitions: int = 1
) -> ExchangeProcessor:
    """A processor whose one agreement lets the NHS ask the Home Office for a status, capped."""
    agreement: dict[str, Any] = {
        "id": KEY[0],
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
                "id": KEY[1],
                "description": "d",
                "subject_identifiers": ["person_id"],
                "request_fields": ["person_id"],
                "response_fields": ["immigration_status"],
                "caps": caps,
            }
        ],
    }
    return ExchangeProcessor(
        policy=compile_policies(PolicySet.of([agreement])),
        codec=CODEC,
        topics=topics,
        signer=TokenSigner(b"test-token-secret-0123456789"),
        subjects=SubjectKeyer(b"test-subject-secret-0123456789"),
        instance_id="gw-test",
        audit_partitions=audit_partitions,
    )
