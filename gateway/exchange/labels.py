"""The Kafka headers of what the processor routes: schema and request id, and the gateway's
signature on what departments receive (one per batch, :mod:`gateway.envelope.signature`)."""

from __future__ import annotations

from gateway.envelope import headers as h
from gateway.envelope.models import CappedRequest, Reply, RoutedRequest
from gateway.envelope.signature import MessageSigner
from gateway.envelope.topics import TopicNames
from gateway.exchange.messages import OutputMessage

__all__ = ["OutputLabels"]

_Kind = tuple[tuple[str, bytes] | None, bool]
"""An output topic's schema header (None: its messages come with theirs) and whether
departments receive it (signed)."""


class OutputLabels:
    """Labels and signs routed messages by their topic."""

    __slots__ = ("_kinds", "_signer", "_topics")

    def __init__(self, topics: TopicNames, signer: MessageSigner) -> None:
        self._topics = topics
        self._signer = signer
        self._kinds: dict[str, _Kind] = {}

    def sign(self, routed: list[OutputMessage]) -> None:
        """Give every message of ``routed`` but dead letters (which come with theirs) its schema
        and request id headers, and those that go to a department's inbox or replies topic the
        signature headers too, under one signature for them all (capped forwards stay with the
        gateway)."""
        signed: list[tuple[int, OutputMessage, tuple[str, bytes]]] = []
        kinds = self._kinds
        for i, m in enumerate(routed):
            schema, signs = kinds.get(m.topic) or self._kind(m.topic)
            if schema is None:
                continue
            if signs:
                signed.append((i, m, schema))
            else:
                routed[i] = OutputMessage(m.topic, m.key, m.value, m.partition, [schema])
        if not signed:
            return
        pairs = [(m.topic, m.value) for _, m, _ in signed]
        signature, key, proofs = self._signer.signed_batch(pairs)
        request_id = h.REQUEST_ID
        for (i, m, schema), proof in zip(signed, proofs, strict=True):
            headers = (
                [schema, (request_id, m.key), signature, key, proof]
                if m.key
                else [schema, signature, key, proof]
            )
            routed[i] = OutputMessage(m.topic, m.key, m.value, m.partition, headers)

    def _kind(self, topic: str) -> _Kind:
        known = self._kinds[topic] = self._kind_of(topic)
        return known

    def _kind_of(self, topic: str) -> _Kind:
        if topic == self._topics.capped:
            return h.schema_header(CappedRequest), False
        kind = (self._topics.parse(topic) or ("", ""))[0]
        if kind == "inbox":
            return h.schema_header(RoutedRequest), True
        if kind == "replies":
            return h.schema_header(Reply), True
        return None, False
