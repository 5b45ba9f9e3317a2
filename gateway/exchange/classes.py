"""Decision classes: requests and responses decided alike, compiled once into plans.

A decision depends only on the request's sender (its topic), requester, provider, agreement,
purpose, query field names and wanted fields, the policy version and the UTC day, as long as
nothing else about it speaks: its ``sent_at`` lies in the window, none of its query values is
blank, it is not under a capped purpose, and it is neither a duplicate nor a replay. Those
requests form a class. The first request of a class goes the general way (validated, decided,
audited and routed by :mod:`gateway.exchange.requests`), which then compiles the class's
:class:`RequestPlan`: the decision, and templates of the audit record and of the routed
request or denial, with holes for what varies from one request to the next (ids, times, input
coordinates, subject key, query values, token). Later requests of the class fill the holes in.
The general way stays the reference: whatever a plan does not cover goes that way.

Responses form classes too: by their topic, responder, requester, agreement, purpose, wanted
fields, status, policy version and UTC day, for a response whose token verifies, within its
lifetime, not a repeat, and released under the policy in force. The class's plan
(:class:`ResponsePlan`) holds the release check, the release compiled for the dataset's record
layout (which redacts a record and writes its JSON in one pass), and, for each shape a redacted
record takes (the paths released, transformed and withheld), templates of the audit record and
the reply. The record itself is still read, checked against the purpose's subject conditions
and keyed per response, the way the general path does.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from gateway.envelope.codec import MessageTemplate
from gateway.exchange.release import ReleaseCheck
from gateway.policy import utc_day
from gateway.redaction.compiled import CompiledRedaction

__all__ = [
    "BatchDay",
    "ClassKey",
    "DecisionClasses",
    "RedactedShape",
    "RequestClasses",
    "RequestPlan",
    "ResponseClasses",
    "ResponseKey",
    "ResponsePlan",
    "ShapeKey",
    "request_id_shaped",
]

ClassKey = tuple[str, str, str, str, str, tuple[str, ...], tuple[str, ...], str, date]
"""``(input topic, requester, provider, agreement, purpose, query field names, wanted fields
sorted, policy version, UTC day)``: what a request wants is decided, audited (sorted) and
routed (as the policy's paths) whatever order it names the fields in, while its query's order
is kept in the routed request."""
ResponseKey = tuple[str, str, str, str, str, tuple[str, ...], str, str, date]
"""``(input topic, responder, requester, agreement, purpose, wanted fields, status, policy
version, UTC day)``."""
ShapeKey = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
"""A redacted record's ``(released, transformed, withheld)`` paths."""

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
"""``REQUEST_ID_PATTERN`` of :mod:`gateway.envelope.models`, the one per-request field a plan
validates itself (the class's own fields were validated when it was compiled)."""


class BatchDay:
    """The UTC day of a batch's ``now``, worked out once per batch (a class key names it)."""

    __slots__ = ("_at", "_day")

    def __init__(self) -> None:
        self._at: datetime | None = None
        self._day = date.min

    def of(self, now: datetime) -> date:
        if now is not self._at:  # one batch, one ``now``
            self._at, self._day = now, utc_day(now)
        return self._day


def request_id_shaped(value: object) -> bool:
    """Whether ``value`` is a request id the envelope model accepts."""
    return isinstance(value, str) and _REQUEST_ID.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class RequestPlan:
    """The outputs of one class of requests, with holes."""

    audit: MessageTemplate
    """The audit record; holes: the chain link, decision id, time, input coordinates,
    ``request_id``, ``subject_key`` and ``sent_at``."""
    observed: Mapping[str, Any]
    """The audit fields every record of the class shares, for the observer."""
    topic: str
    """Where the routed request (the provider's inbox) or the denial (the sender's replies)
    goes."""
    routed: MessageTemplate | None
    """An approval's routed request; holes: ``request_id``, ``query``, ``issued_at``,
    ``token``."""
    kept: tuple[str, ...]
    """The query fields an approval routes, in the request's order."""
    token_context: bytes
    """The approval token's shared context (:meth:`TokenSigner.context`)."""
    denial: MessageTemplate | None
    """A denial's reply; holes: ``request_id``, ``replied_at``."""


@dataclass(frozen=True, slots=True)
class RedactedShape:
    """The outputs of a response plan's records that redact to one :data:`ShapeKey`."""

    audit: MessageTemplate
    """The audit record; holes: the chain link, decision id, time, input coordinates,
    ``request_id`` and ``subject_key``."""
    observed: Mapping[str, Any]
    """The audit fields every record of the shape shares, for the observer."""
    reply: MessageTemplate
    """The reply; holes: ``request_id``, ``replied_at`` and ``record_json``."""


@dataclass(frozen=True, slots=True)
class ResponsePlan:
    """What one class of responses shares: the release and the outputs of each record shape."""

    release: ReleaseCheck
    """The release check of the class (allowed)."""
    token_context: bytes
    """The approval token's shared context (:meth:`TokenSigner.context`)."""
    dataset: str | None
    """The schema the provider's record is read with; None for an answer without a record."""
    reply_topic: str
    redaction: CompiledRedaction | None = None
    """The release compiled for the dataset's records (:mod:`gateway.redaction.compiled`)."""
    shapes: dict[ShapeKey, RedactedShape] = field(default_factory=dict)
    """By redacted shape, as records of the class come (a record-less answer has one, under
    ``((), (), ())``)."""


P = TypeVar("P")
K = TypeVar("K")


class DecisionClasses(Generic[K, P]):
    """The plans of the classes seen lately, at most ``capacity`` (0: none, every input goes
    the general way); the oldest is forgotten first. Cleared on every policy change."""

    __slots__ = ("_capacity", "_plans", "compiled", "hits")

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 0:
            raise ValueError("capacity must not be negative")
        self._capacity = capacity
        self._plans: OrderedDict[K, P] = OrderedDict()
        """In the order compiled: popping the oldest stays O(1) however many went before,
        where a dict's first key is found by skipping every slot deleted at its front."""
        self.compiled = 0
        """Plans compiled since the start."""
        self.hits = 0
        """Inputs that took a compiled plan."""

    @property
    def enabled(self) -> bool:
        return self._capacity > 0

    def get(self, key: K) -> P | None:
        return self._plans.get(key)

    def put(self, key: K, plan: P) -> None:
        plans = self._plans
        if not self._capacity:
            return
        if key not in plans and len(plans) >= self._capacity:
            plans.popitem(last=False)
        plans[key] = plan
        self.compiled += 1

    def clear(self) -> None:
        self._plans.clear()

    @property
    def plans(self) -> tuple[P, ...]:
        """The plans held, oldest first."""
        return tuple(self._plans.values())

    def __len__(self) -> int:
        return len(self._plans)


RequestClasses = DecisionClasses[ClassKey, RequestPlan]
ResponseClasses = DecisionClasses[ResponseKey, ResponsePlan]
