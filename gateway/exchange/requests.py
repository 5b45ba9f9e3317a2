"""The request path: decide a department's request, then route it minimised or deny it.

A request under a capped purpose is not decided where it arrives: it is forwarded, undecided and
unaudited, to the capped topic keyed by its cap key, so every request of one key reaches the one
instance that owns that capped partition and its volume counter. That instance decides it like a
direct request and audits it with its original coordinates. The forward carries a MAC
(:mod:`gateway.exchange.forwarding`): a capped record without a valid one is refused, audited and
dead-lettered, since its sender and coordinates are only a claim.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from gateway.audit.subject import SubjectKeyer
from gateway.audit.withheld import WithheldValues
from gateway.envelope.codec import ENVELOPE_NAMESPACE, Codec
from gateway.envelope.models import (
    AuditOutcome,
    AuditStage,
    CappedRequest,
    ExchangeRequest,
    Reply,
    ReplyOutcome,
    RoutedRequest,
)
from gateway.envelope.topics import TopicNames
from gateway.errors import IdentityError
from gateway.exchange.auditing import AuditTrail
from gateway.exchange.dedupe import SeenIds
from gateway.exchange.forwarding import ForwardSigner
from gateway.exchange.malformed import malformed_reasons, recovered_request_id, reply_parties
from gateway.exchange.messages import BatchOutputs, InputMessage, OutputMessage
from gateway.exchange.reasons import DUPLICATE_REQUEST, FORWARD_UNAUTHENTICATED
from gateway.exchange.tokens import TokenSigner
from gateway.policy import CompiledPolicy, SentAtWindow, VolumeCounter, cap_key_bytes, decide

__all__ = ["RequestPath"]

log = logging.getLogger("gateway.exchange")

_REQUEST_SCHEMA = f"{ENVELOPE_NAMESPACE}.{ExchangeRequest.__name__}"


class RequestPath:
    """Handles records from the ``requests`` topics and the capped topic."""

    __slots__ = (
        "_codec",
        "_forwards",
        "_seen",
        "_signer",
        "_subjects",
        "_topics",
        "_trail",
        "_window",
        "_withheld",
    )

    def __init__(
        self,
        *,
        codec: Codec,
        topics: TopicNames,
        signer: TokenSigner,
        forwards: ForwardSigner,
        subjects: SubjectKeyer,
        seen: SeenIds,
        trail: AuditTrail,
        withheld: WithheldValues,
        sent_at_window: SentAtWindow,
    ) -> None:
        self._codec = codec
        self._topics = topics
        self._signer = signer
        self._forwards = forwards
        self._subjects = subjects
        self._seen = seen
        self._trail = trail
        self._withheld = withheld
        self._window = sent_at_window

    def on_request(
        self,
        msg: InputMessage,
        dept: str,
        policy: CompiledPolicy,
        now: datetime,
        out: BatchOutputs,
    ) -> None:
        """A request ``dept`` published on its own requests topic."""
        raw = self._codec.decode_record_as(msg.value or b"", _REQUEST_SCHEMA)
        try:
            request = ExchangeRequest.model_validate(raw)
        except ValidationError as exc:
            self._malformed(msg, dept, raw, exc, policy, now, out)
            return
        capped = policy.capped
        if capped and (request.agreement_id, request.purpose) in capped:
            self._forward(msg, dept, request, out)
            return
        self._decide(msg, dept, request, policy, now, out)

    def on_capped(
        self,
        msg: InputMessage,
        policy: CompiledPolicy,
        counters: Mapping[int, VolumeCounter],
        now: datetime,
        out: BatchOutputs,
    ) -> None:
        """Decide a forwarded request with the counter of the capped partition it came from,
        once its MAC shows that a gateway instance forwarded it as it stands."""
        capped = self._codec.decode(msg.value or b"", CappedRequest)
        if not self._forwards.verify(capped):
            log.warning(
                "refused a record on %s[%d] at offset %d: no valid forwarding MAC",
                msg.topic,
                msg.partition,
                msg.offset,
            )
            reason = FORWARD_UNAUTHENTICATED
            self._trail.dead_letter(msg, reason.code, reason.message, policy.version, now, out)
            return
        if self._topics.parse(capped.input_topic) != ("requests", capped.sender):
            raise IdentityError(
                f"capped request names sender {capped.sender!r} but arrived on "
                f"{capped.input_topic!r}, not that department's requests topic"
            )
        request = self._codec.decode(capped.request, ExchangeRequest)
        origin = InputMessage(
            capped.input_topic, capped.input_partition, capped.input_offset, None, capped.request
        )
        volume = counters.get(msg.partition)
        self._decide(origin, capped.sender, request, policy, now, out, msg.partition, volume)

    def _forward(
        self, msg: InputMessage, dept: str, request: ExchangeRequest, out: BatchOutputs
    ) -> None:
        """Send a request under a capped purpose to the owner of its cap key's counter. Not a
        decision: no audit record; the input offset is committed once the forward is written."""
        value = msg.value or b""
        mac = self._forwards.sign(
            sender=dept,
            input_topic=msg.topic,
            input_partition=msg.partition,
            input_offset=msg.offset,
            request=value,
        )
        envelope = CappedRequest(
            sender=dept,
            input_topic=msg.topic,
            input_partition=msg.partition,
            input_offset=msg.offset,
            request=value,
            mac=mac,
        )
        key = cap_key_bytes((request.agreement_id, request.purpose, dept))
        out.routed.append(OutputMessage(self._topics.capped, key, self._codec.encode(envelope)))

    def _malformed(
        self,
        msg: InputMessage,
        dept: str,
        raw: Mapping[str, Any],
        error: ValidationError,
        policy: CompiledPolicy,
        now: datetime,
        out: BatchOutputs,
    ) -> None:
        """Refuse a request without the envelope's shape: audited and dead-lettered, naming each
        field at fault and withholding its value. When its request id has its shape, ``dept``
        (whose topic carried it) also gets the denial, once, instead of waiting in vain."""
        reasons = malformed_reasons(raw, error, self._withheld)
        request_id = recovered_request_id(raw)
        if request_id is None:
            self._trail.refuse(msg, reasons, policy.version, now, out)
            return
        known = {"request_id": request_id, "requester": dept, "sent_at": raw.get("sent_at")}
        self._trail.refuse(msg, reasons, policy.version, now, out, **known)
        seen_key = ("request", dept, request_id)
        if not self._seen.add(seen_key):  # redelivered, or the id was used before: no 2nd reply
            return
        out.seen_keys.append(seen_key)
        reply = self._codec.encode_fields(
            Reply,
            {
                "request_id": request_id,
                "requester": dept,
                **reply_parties(raw, self._withheld),
                "outcome": ReplyOutcome.DENIED,
                "reasons": reasons,
                "policy_version": policy.version,
                "replied_at": now,
            },
        )
        out.routed.append(OutputMessage(self._topics.replies(dept), request_id.encode(), reply))

    def _decide(
        self,
        msg: InputMessage,
        dept: str,
        request: ExchangeRequest,
        policy: CompiledPolicy,
        now: datetime,
        out: BatchOutputs,
        chain: int | None = None,
        volume: VolumeCounter | None = None,
    ) -> None:
        """Decide ``request`` from ``dept``, received as ``msg``; audit it on the chain of
        partition ``chain`` (default: ``msg``'s) and count an approval in ``volume``."""
        subject_key = self._subjects.subject_key(request.provider, request.query)
        seen_key = ("request", dept, request.request_id)
        shown = self._shown(request, dept, policy)  # what the decision and the audit may name
        if not self._seen.add(seen_key):
            self._trail.record(
                msg,
                AuditStage.REQUEST,
                now,
                out,
                chain=chain,
                request_id=request.request_id,
                requester=dept,
                provider=shown.provider,
                agreement_id=shown.agreement_id,
                purpose=shown.purpose,
                outcome=AuditOutcome.DUPLICATE,
                reasons=[DUPLICATE_REQUEST],
                subject_key=subject_key,
                policy_version=policy.version,
                sent_at=request.sent_at,
            )
            return
        out.seen_keys.append(seen_key)

        decision = decide(
            policy, shown, sender=dept, now=now, volume=volume, sent_at_window=self._window
        )
        if decision.cap_key is not None and volume is not None:  # counts from now on
            volume.record(decision.cap_key, now)
        wanted = list(decision.response_fields)
        self._trail.record(
            msg,
            AuditStage.REQUEST,
            now,
            out,
            chain=chain,
            request_id=request.request_id,
            requester=shown.requester,
            provider=shown.provider,
            agreement_id=shown.agreement_id,
            purpose=shown.purpose,
            outcome=decision.outcome,
            reasons=list(decision.reasons),
            fields_requested=sorted(request.wanted) if request.wanted else wanted,
            fields_released=sorted(decision.query) if decision.allowed else [],
            fields_withheld=list(decision.removed_query_fields),
            subject_key=subject_key,
            policy_version=decision.policy_version,
            sent_at=request.sent_at,
        )
        key = request.request_id.encode()
        if decision.allowed:  # every id of an approval is known: shown is request
            routed = self._routed(request, decision.query, wanted, decision.policy_version, now)
            out.routed.append(OutputMessage(self._topics.inbox(request.provider), key, routed))
            return
        # A denial goes back to the department that sent the request, whoever it claimed to be,
        # naming what that department asked for.
        reply = self._codec.encode_fields(
            Reply,
            {
                "request_id": request.request_id,
                "requester": request.requester,
                "provider": request.provider,
                "agreement_id": request.agreement_id,
                "purpose": request.purpose,
                "outcome": ReplyOutcome.DENIED,
                "reasons": decision.reasons,
                "removed_query_fields": decision.removed_query_fields,
                "policy_version": decision.policy_version,
                "replied_at": now,
            },
        )
        out.routed.append(OutputMessage(self._topics.replies(dept), key, reply))

    def _routed(
        self,
        request: ExchangeRequest,
        query: Mapping[str, Any],
        wanted: list[str],
        policy_version: str,
        now: datetime,
    ) -> bytes:
        """The minimised request for the provider, with the token its response must echo."""
        token = self._signer.issue(
            request_id=request.request_id,
            requester=request.requester,
            provider=request.provider,
            agreement_id=request.agreement_id,
            purpose=request.purpose,
            wanted=wanted,
            issued_at=now,
        )
        return self._codec.encode_fields(
            RoutedRequest,
            {
                "request_id": request.request_id,
                "requester": request.requester,
                "provider": request.provider,
                "agreement_id": request.agreement_id,
                "purpose": request.purpose,
                "query": query,
                "wanted": wanted,
                "policy_version": policy_version,
                "issued_at": now,
                "token": token,
            },
        )

    def _shown(
        self, request: ExchangeRequest, dept: str, policy: CompiledPolicy
    ) -> ExchangeRequest:
        """``request`` with every id the policy set does not know withheld (length and keyed
        hash), for the decision's reasons and the audit record. Decisions do not change: an
        unknown id matches nothing under any name, and a withheld one is no policy id."""
        changes: dict[str, str] = {}
        if request.agreement_id not in policy.by_id:
            changes["agreement_id"] = self._withheld.unknown(request.agreement_id)
        if request.purpose not in policy.purpose_ids:
            changes["purpose"] = self._withheld.unknown(request.purpose)
        if request.requester != dept and request.requester not in policy.party_ids:
            changes["requester"] = self._withheld.unknown(request.requester)
        if request.provider not in policy.party_ids:
            changes["provider"] = self._withheld.unknown(request.provider)
        return request.model_copy(update=changes) if changes else request
