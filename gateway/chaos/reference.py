"""What each reply should be: the request run through the pure exchange processor.

A processor built as ``gateway run`` builds it (same settings, policies and secrets) decides
every request the campaign sent; each request it routes is answered from the synthetic datasets
exactly as the reference departments answer, and that response goes through it too. The reply
it then gives is the one the gateway instances should have given. A received reply is *wrong*
when it differs in anything but its time: outcome, reasons, provider status, released record,
field lists, policy version, parties.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gateway.departments.answers import Answer, build_response, index_records, lookup
from gateway.envelope.codec import Codec
from gateway.envelope.datasets import SUBJECT_IDENTIFIER_BY_PROVIDER
from gateway.envelope.models import ExchangeRequest, Reply, RoutedRequest
from gateway.exchange.messages import BatchOutputs, InputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.synthetic.datasets import DEFAULT_SEED, DEFAULT_SIZE, generate
from gateway.transport.topics import TopicNames

__all__ = ["ReferenceReplies", "differences"]

_COMPARED = (
    "request_id",
    "requester",
    "provider",
    "agreement_id",
    "purpose",
    "outcome",
    "status",
    "released_fields",
    "withheld_fields",
    "removed_query_fields",
    "policy_version",
)


class ReferenceReplies:
    """Expected replies from a private processor (its audit records and dedupe memory are its
    own and never leave it)."""

    def __init__(self, processor: ExchangeProcessor, topics: TopicNames, codec: Codec) -> None:
        self._processor = processor
        self._topics = topics
        self._codec = codec
        self._offsets: Counter[str] = Counter()
        self._datasets: dict[str, Mapping[str, Mapping[str, Any]]] = {}

    def expected(self, request: ExchangeRequest, at: datetime) -> Reply | None:
        """The reply to ``request`` decided at ``at``; None if the processor gave none."""
        reply: Reply | None = None
        routed = self._run(
            self._topics.requests(request.requester),
            request.request_id,
            self._codec.encode(request),
            at,
        )
        for topic, value in routed:
            kind = self._kind(topic)
            if kind == "replies":
                reply = self._codec.decode(value, Reply)
            elif kind == "inbox":
                routed_request = self._codec.decode(value, RoutedRequest)
                answer = self._answer(routed_request)
                response = build_response(
                    routed_request, answer, responder=request.provider, codec=self._codec, now=at
                )
                topic_in = self._topics.responses(request.provider)
                for out_topic, out_value in self._run(
                    topic_in, request.request_id, self._codec.encode(response), at
                ):
                    if self._kind(out_topic) == "replies":
                        reply = self._codec.decode(out_value, Reply)
        return reply

    def _run(self, topic: str, key: str, value: bytes, at: datetime) -> list[tuple[str, bytes]]:
        offset = self._offsets[topic]
        self._offsets[topic] += 1
        out = BatchOutputs()
        self._processor.process(InputMessage(topic, 0, offset, key.encode(), value), at, out)
        return [(m.topic, m.value) for m in out.routed]

    def _kind(self, topic: str) -> str:
        parsed = self._topics.parse(topic)
        return parsed[0] if parsed else ""

    def _answer(self, routed: RoutedRequest) -> Answer:
        provider = routed.provider
        dataset = self._datasets.get(provider)
        if dataset is None:
            identifier = SUBJECT_IDENTIFIER_BY_PROVIDER[provider]
            dataset = index_records(generate(provider, DEFAULT_SIZE, DEFAULT_SEED), identifier)
            self._datasets[provider] = dataset
        return lookup(dataset, SUBJECT_IDENTIFIER_BY_PROVIDER[provider], routed)


def differences(got: Reply, want: Reply | None) -> list[str]:
    """What differs between a received reply and the expected one, by field name."""
    if want is None:
        return ["the policy gives no reply to this request"]
    found = [name for name in _COMPARED if getattr(got, name) != getattr(want, name)]
    if [(r.code, r.message) for r in got.reasons] != [(r.code, r.message) for r in want.reasons]:
        found.append("reasons")
    if _record(got) != _record(want):
        found.append("record_json")
    return found


def _record(reply: Reply) -> Any:
    return json.loads(reply.record_json) if reply.record_json else None
