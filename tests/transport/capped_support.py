"""A processor under one capped agreement, for the tests of capped partitions and their counters."""

from __future__ import annotations

from processor_support import CODEC, make_processor, one_agreement, purpose

from gateway.envelope.topics import TopicNames
from gateway.exchange.processor import ExchangeProcessor

__all__ = ["CODEC", "KEY", "capped_processor"]

KEY = ("nhs-ho-capped", "status", "nhs")
"""The cap key (agreement, purpose, requester) every request of these tests falls under."""


def capped_processor(
    topics: TopicNames, caps: dict[str, int], audit_partitions: int = 1
) -> ExchangeProcessor:
    """A processor whose one agreement lets the NHS ask the Home Office for a status, capped."""
    policy = one_agreement(KEY[0], purpose(KEY[1], caps=caps))
    return make_processor(policy, topics=topics, audit_partitions=audit_partitions)
