"""What a providing department answers, and how an answer becomes a :class:`ProviderResponse`.

Pure code, no Kafka: the aiokafka client (:mod:`gateway.departments.client`) and the faust
reference services (``consumers.departments``) share it, so both answer in exactly the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.envelope.codec import Codec
from gateway.envelope.datasets import DATASET_BY_PROVIDER
from gateway.envelope.models import ProviderResponse, ResponseStatus, RoutedRequest
from gateway.errors import EnvelopeError

__all__ = [
    "Answer",
    "Handler",
    "answer_from_dataset",
    "build_response",
    "index_records",
    "lookup",
]

log = logging.getLogger("gateway.departments")

_UNFIT_RECORD = "the provider's record does not fit its dataset schema"


@dataclass(frozen=True, slots=True)
class Answer:
    """A provider's answer to one routed request, before it is encoded."""

    status: ResponseStatus
    record: Mapping[str, Any] | None = None
    """The subject's full dataset record when ``status`` is FOUND; the gateway redacts it."""
    error: str | None = None
    """What went wrong when ``status`` is ERROR. It is audited: never put personal data in it."""


Handler = Callable[[RoutedRequest], Answer | Awaitable[Answer]]
"""Answers one routed request; may be a plain function or a coroutine function."""


def index_records(
    records: Iterable[Mapping[str, Any]], identifier_field: str
) -> dict[str, Mapping[str, Any]]:
    """Records keyed by their subject identifier, ready for :func:`answer_from_dataset`."""
    return {str(record[identifier_field]): record for record in records}


def lookup(
    dataset: Mapping[str, Mapping[str, Any]], identifier_field: str, routed: RoutedRequest
) -> Answer:
    """FOUND with the record whose identifier the request's query names, else NOT_FOUND."""
    value = routed.query.get(identifier_field)
    record = dataset.get(value) if value else None
    if record is None:
        return Answer(ResponseStatus.NOT_FOUND)
    return Answer(ResponseStatus.FOUND, record)


def answer_from_dataset(
    dataset: Mapping[str, Mapping[str, Any]], identifier_field: str
) -> Callable[[RoutedRequest], Answer]:
    """A handler that answers from ``dataset``, keyed by the value of ``identifier_field``."""

    def handler(routed: RoutedRequest) -> Answer:
        return lookup(dataset, identifier_field, routed)

    return handler


def build_response(
    routed: RoutedRequest,
    answer: Answer,
    *,
    responder: str,
    codec: Codec,
    now: datetime | None = None,
) -> ProviderResponse:
    """The response to ``routed``: its context and token echoed, the record dataset-encoded.

    A record that does not fit the responder's dataset schema becomes an ERROR response rather
    than an exception, so one bad record cannot stall an inbox.
    """
    status, error, record_bytes = answer.status, answer.error, None
    if status is ResponseStatus.FOUND:
        if answer.record is None:
            status, error = ResponseStatus.ERROR, "answer was FOUND but carried no record"
        else:
            try:
                record_bytes = codec.encode_record(DATASET_BY_PROVIDER[responder], answer.record)
            except (EnvelopeError, KeyError) as exc:
                log.error("request %s: %s: %s", routed.request_id, _UNFIT_RECORD, exc)
                status, error = ResponseStatus.ERROR, _UNFIT_RECORD
    return ProviderResponse(
        request_id=routed.request_id,
        responder=responder,
        requester=routed.requester,
        agreement_id=routed.agreement_id,
        purpose=routed.purpose,
        wanted=list(routed.wanted),
        issued_at=routed.issued_at,
        token=routed.token,
        status=status,
        record=record_bytes,
        error=error if status is ResponseStatus.ERROR else None,
        sent_at=now or datetime.now(UTC),
    )
