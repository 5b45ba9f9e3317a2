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
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from gateway.audit.subject import SubjectKeyer
from gateway.audit.withheld import WithheldValues
from gateway.envelope.codec import ENVELOPE_NAMESPACE, Codec, MessageTemplate
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
from gateway.exchange.classes import (
    BatchDay,
    ClassKey,
    RequestClasses,
    RequestPlan,
    request_id_shaped,
)
from gateway.exchange.dedupe import SeenIds
from gateway.exchange.forwarding import ForwardSigner
from gateway.exchange.malformed import malformed_reasons, recovered_request_id, reply_parties
from gateway.exchange.messages import BatchOutputs, InputMessage, OutputMessage
from gateway.exchange.reasons import DUPLICATE_REQUEST, FORWARD_UNAUTHENTICATED
from gateway.exchange.tokens import TokenSigner
from gateway.policy import (
    CompiledPolicy,
    Decision,
    Rule,
    SentAtWindow,
    VolumeCounter,
    cap_key_bytes,
    decide,
)

__all__ = ["RequestPath"]

log = logging.getLogger("gateway.exchange")

_REQUEST_SCHEMA = f"{ENVELOPE_NAMESPACE}.{ExchangeRequest.__name__}"
_REQUEST = AuditStage.REQUEST
_AUDIT_HOLES = ("request_id", "subject_key", "sent_at")
"""The fields of a request's audit record that vary within its decision class."""
_ROUTED_HOLES = ("request_id", "query", "issued_at", "token")
_DENIAL_HOLES = ("request_id", "replied_at")
_TEMPLATES_KEPT = 4096
"""Routed-request and denial templates kept for the classes that share them."""


class RequestPath:
    """Handles records from the ``requests`` topics and the capped topic."""

    __slots__ = (
        "_classes",
        "_codec",
        "_day",
        "_forwards",
        "_seen",
        "_signer",
        "_subjects",
        "_templates",
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
        classes: RequestClasses | None = None,
    ) -> None:
        """``classes`` holds the plans of the decision classes seen lately (default: none, so
        every request goes the general way)."""
        self._classes = classes if classes is not None else RequestClasses(0)
        self._day = BatchDay()
        self._codec = codec
        self._topics = topics
        self._signer = signer
        self._forwards = forwards
        self._subjects = subjects
        self._seen = seen
        self._trail = trail
        self._withheld = withheld
        self._window = sent_at_window
        self._templates: dict[tuple[Any, ...], MessageTemplate] = {}
        """By their constant fields: many classes route the same message, or deny with the
        same reply, but for the holes (their query's fields or the fields they want differ)."""

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
        key: ClassKey | None = None
        if self._classes.enabled and msg.replay_of is None:
            key = self._class_key(msg, raw, policy, now)
            plan = self._classes.get(key)
            if plan is not None and self._planned(msg, dept, raw, plan, now, out):
                self._classes.hits += 1
                return
        try:
            request = ExchangeRequest.model_validate(raw)
        except ValidationError as exc:
            self._malformed(msg, dept, raw, exc, policy, now, out)
            return
        capped = policy.capped
        if capped and (request.agreement_id, request.purpose) in capped:
            self._forward(msg, dept, request, out)
            return
        self._decide(msg, dept, request, policy, now, out, key=key)

    def _class_key(
        self, msg: InputMessage, raw: Mapping[str, Any], policy: CompiledPolicy, now: datetime
    ) -> ClassKey:
        """The decision class of request ``raw`` received as ``msg`` (see
        :mod:`gateway.exchange.classes`); the order of its wanted fields does not matter."""
        day = self._day.of(now)
        wanted = raw["wanted"]
        return (
            msg.topic,
            raw["requester"],
            raw["provider"],
            raw["agreement_id"],
            raw["purpose"],
            tuple(raw["query"]),
            tuple(sorted(wanted)) if wanted else (),
            policy.version,
            day,
        )

    def _planned(
        self,
        msg: InputMessage,
        dept: str,
        raw: Mapping[str, Any],
        plan: RequestPlan,
        now: datetime,
        out: BatchOutputs,
    ) -> bool:
        """Handle ``raw`` by its class's plan, as :meth:`_decide` would; False (having done
        nothing) if something about this request is outside what the plan covers."""
        request_id = raw["request_id"]
        query: dict[str, str] = raw["query"]
        sent_at: datetime = raw["sent_at"]
        if not request_id_shaped(request_id) or not all(v.strip() for v in query.values()):
            return False
        if self._window.problem(sent_at, now) is not None:
            return False
        seen_key = ("request", dept, request_id)
        if not self._seen.add(seen_key):  # a duplicate: the general way audits it as such
            return False
        out.seen_keys.append(seen_key)
        subject_key = self._subjects.subject_key(raw["provider"], query)
        self._apply(msg, plan, request_id, query, subject_key, sent_at, now, out)
        return True

    def _apply(
        self,
        msg: InputMessage,
        plan: RequestPlan,
        request_id: str,
        query: Mapping[str, str],
        subject_key: str | None,
        sent_at: datetime,
        now: datetime,
        out: BatchOutputs,
    ) -> None:
        """Audit and route or deny a request of ``plan``'s class, counted as seen already."""
        holes = {"request_id": request_id, "subject_key": subject_key, "sent_at": sent_at}
        self._trail.record_from(msg, _REQUEST, now, out, plan.audit, holes, plan.observed)
        if plan.routed is not None:
            token = self._signer.issue_in(plan.token_context, request_id, now)
            kept = {name: query[name] for name in plan.kept}
            routed = {"request_id": request_id, "query": kept, "issued_at": now, "token": token}
            value = plan.routed.fill(routed)
        else:
            assert plan.denial is not None
            value = plan.denial.fill({"request_id": request_id, "replied_at": now})
        out.routed.append(OutputMessage(plan.topic, request_id.encode(), value))

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
        key: ClassKey | None = None,
    ) -> None:
        """Decide ``request`` from ``dept``, received as ``msg``; audit it on the chain of
        partition ``chain`` (default: ``msg``'s) and count an approval in ``volume``. With the
        request's class ``key``, compile the class's plan when it can have one, and handle the
        request by it."""
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
        fields = dict(
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
        if key is not None and chain is None and self._plannable(request, decision, now):
            # The first of its class: compiled, then handled by its plan as the rest will be.
            plan = self._plan(msg, dept, request, decision, wanted, fields, now)
            self._classes.put(key, plan)
            query, sent_at = request.query, request.sent_at
            self._apply(msg, plan, request.request_id, query, subject_key, sent_at, now, out)
            return
        self._trail.record(msg, _REQUEST, now, out, chain=chain, **fields)
        key_bytes = request.request_id.encode()
        if decision.allowed:  # every id of an approval is known: shown is request
            token = self._signer.issue(
                request_id=request.request_id,
                requester=request.requester,
                provider=request.provider,
                agreement_id=request.agreement_id,
                purpose=request.purpose,
                wanted=wanted,
                issued_at=now,
            )
            routed = self._codec.encode_fields(
                RoutedRequest, _routed_fields(request, decision, wanted, now, token)
            )
            out.routed.append(
                OutputMessage(self._topics.inbox(request.provider), key_bytes, routed)
            )
        else:
            # A denial goes back to the department that sent the request, whoever it claimed to
            # be, naming what that department asked for.
            reply = self._codec.encode_fields(Reply, _denial_fields(request, decision, now))
            out.routed.append(OutputMessage(self._topics.replies(dept), key_bytes, reply))

    def _plannable(self, request: ExchangeRequest, decision: Decision, now: datetime) -> bool:
        """Whether every request of this one's class is decided as it was: nothing about its
        values spoke (see :mod:`gateway.exchange.classes`)."""
        return (
            decision.cap_key is None
            and all(value.strip() for value in request.query.values())
            and self._window.problem(request.sent_at, now) is None
            and all(reason.code != Rule.EVALUATION_ERROR for reason in decision.reasons)
        )

    def _plan(
        self,
        msg: InputMessage,
        dept: str,
        request: ExchangeRequest,
        decision: Decision,
        wanted: list[str],
        fields: Mapping[str, Any],
        now: datetime,
    ) -> RequestPlan:
        """The plan of the class of ``request``, from its decision and audit ``fields``."""
        observed = MappingProxyType({k: v for k, v in fields.items() if k not in _AUDIT_HOLES})
        audit = self._trail.template(msg.topic, _REQUEST, observed, _AUDIT_HOLES)
        if not decision.allowed:
            constants = _denial_fields(request, decision, now)
            return RequestPlan(
                audit=audit,
                observed=observed,
                topic=self._topics.replies(dept),
                routed=None,
                kept=(),
                token_context=b"",
                denial=self._template(Reply, constants, _DENIAL_HOLES),
            )
        constants = _routed_fields(request, decision, wanted, now, "")
        context = self._signer.context(
            requester=request.requester,
            provider=request.provider,
            agreement_id=request.agreement_id,
            purpose=request.purpose,
            wanted=wanted,
        )
        return RequestPlan(
            audit=audit,
            observed=observed,
            topic=self._topics.inbox(request.provider),
            routed=self._template(RoutedRequest, constants, _ROUTED_HOLES),
            kept=tuple(decision.query),
            token_context=context,
            denial=None,
        )

    def _template(
        self,
        model: type[Reply | RoutedRequest],
        constants: Mapping[str, Any],
        holes: tuple[str, ...],
    ) -> MessageTemplate:
        """The template of ``model`` messages whose fields but ``holes`` are ``constants``:
        made once for every class whose messages have those."""
        key = (model, *(_hashable(constants.get(name, _LEFT_OUT)) for name in _FIXED[model]))
        templates = self._templates
        template = templates.get(key)
        if template is None:
            if len(templates) >= _TEMPLATES_KEPT:
                templates.clear()
            template = templates[key] = self._codec.template(model, constants, holes)
        return template

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


def _hashable(value: Any) -> Any:
    """A constant as part of a template's key: a list as the tuple it encodes as."""
    return tuple(value) if isinstance(value, list) else value


_LEFT_OUT = object()
"""In a template's key, a field its constants leave to the model's default."""
_FIXED: dict[type[Reply | RoutedRequest], tuple[str, ...]] = {
    model: tuple(name for name in model.model_fields if name not in holes)
    for model, holes in ((RoutedRequest, _ROUTED_HOLES), (Reply, _DENIAL_HOLES))
}
"""The fields a routed request's and a denial's template fix: every one but the holes (a
field the constants leave out takes the model's default, in every template alike)."""


def _routed_fields(
    request: ExchangeRequest, decision: Decision, wanted: list[str], now: datetime, token: str
) -> dict[str, Any]:
    """The minimised request for the provider, with the token its response must echo."""
    return {
        "request_id": request.request_id,
        "requester": request.requester,
        "provider": request.provider,
        "agreement_id": request.agreement_id,
        "purpose": request.purpose,
        "query": decision.query,
        "wanted": wanted,
        "policy_version": decision.policy_version,
        "issued_at": now,
        "token": token,
    }


def _denial_fields(request: ExchangeRequest, decision: Decision, now: datetime) -> dict[str, Any]:
    """The reply denying ``request``, naming what its sender asked for."""
    return {
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
    }
