"""The response path: verify a provider's answer, redact it for the purpose, reply.

A response is released only if it carries a valid approval token for this responder, answers a
request not answered before (provably so: a token issued before the replay horizon of
:mod:`gateway.exchange.dedupe` is refused), and the purpose still allows release under the
active policy set.
Everything the purpose does not allow is withheld; the reply says which fields and why.

Responses of a class already seen take its plan (:mod:`gateway.exchange.classes`): the same
checks, outputs filled into templates of the class's audit record and reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from gateway.audit.subject import SubjectKeyer
from gateway.envelope.codec import ENVELOPE_NAMESPACE, Codec
from gateway.envelope.datasets import DATASET_BY_PROVIDER
from gateway.envelope.models import (
    AuditOutcome,
    AuditStage,
    ProviderResponse,
    Reason,
    Reply,
    ReplyOutcome,
    ResponseStatus,
)
from gateway.envelope.topics import TopicNames
from gateway.errors import DecodeError
from gateway.exchange.auditing import AuditTrail
from gateway.exchange.classes import (
    BatchDay,
    RedactedShape,
    ResponseClasses,
    ResponseKey,
    ResponsePlan,
    ShapeKey,
)
from gateway.exchange.dedupe import SeenIds
from gateway.exchange.layouts import record_layout
from gateway.exchange.messages import BatchOutputs, InputMessage, OutputMessage
from gateway.exchange.reasons import (
    BEFORE_REPLAY_HORIZON,
    DUPLICATE_RESPONSE,
    NOTHING_TO_RELEASE,
    UNREADABLE_RECORD,
    transformed_reason,
    withheld_reason,
)
from gateway.exchange.release import ReleaseCheck, ReleaseChecker
from gateway.exchange.tokens import TokenSigner
from gateway.policy import CompiledPolicy, utc_day
from gateway.redaction import RedactionResult, leaf_paths, redact
from gateway.redaction.compiled import compile_redaction, record_json

__all__ = ["ResponsePath"]

_RESPONSE_SCHEMA = f"{ENVELOPE_NAMESPACE}.{ProviderResponse.__name__}"
_RESPONSE = AuditStage.RESPONSE
_AUDIT_HOLES = ("request_id", "subject_key")
"""The fields of a response's audit record that vary within its class and shape."""
_REPLY_HOLES = ("request_id", "replied_at", "record_json")
_NO_RECORD: ShapeKey = ((), (), ())
_SHAPES_PER_PLAN = 16
"""Redacted shapes one plan keeps at most (records with other shapes go the general way)."""


class ResponsePath:
    """Handles records from the ``responses`` topics."""

    __slots__ = (
        "_classes",
        "_codec",
        "_day",
        "_release",
        "_seen",
        "_signer",
        "_subjects",
        "_token_ttl",
        "_topics",
        "_trail",
    )

    def __init__(
        self,
        *,
        codec: Codec,
        topics: TopicNames,
        signer: TokenSigner,
        subjects: SubjectKeyer,
        seen: SeenIds,
        trail: AuditTrail,
        token_ttl: timedelta,
        classes: ResponseClasses | None = None,
    ) -> None:
        """``classes`` holds the plans of the response classes seen lately (default: none, so
        every response goes the general way)."""
        self._classes = classes if classes is not None else ResponseClasses(0)
        self._day = BatchDay()
        self._codec = codec
        self._topics = topics
        self._signer = signer
        self._subjects = subjects
        self._seen = seen
        self._trail = trail
        self._token_ttl = token_ttl
        self._release = ReleaseChecker()

    def on_response(
        self,
        msg: InputMessage,
        dept: str,
        policy: CompiledPolicy,
        now: datetime,
        out: BatchOutputs,
    ) -> None:
        """A response ``dept`` published on its own responses topic."""
        raw = self._codec.decode_record_as(msg.value or b"", _RESPONSE_SCHEMA)
        key: ResponseKey | None = None
        if self._classes.enabled and msg.replay_of is None and raw["responder"] == dept:
            key = self._class_key(msg, raw, policy, now)
            plan = self._classes.get(key)
            if plan is not None and self._planned(msg, dept, raw, plan, now, out):
                self._classes.hits += 1
                return
        response = self._codec.validate(raw, ProviderResponse)
        trail = self._trail
        context: dict[str, Any] = dict(
            request_id=response.request_id,
            requester=response.requester,
            provider=response.responder,
            agreement_id=response.agreement_id,
            purpose=response.purpose,
            policy_version=policy.version,
            fields_requested=list(response.wanted),
        )
        stage = AuditStage.RESPONSE
        blocked = self._problems(response, dept, now)
        if blocked:
            # Unverified context is recorded as claimed; nothing reaches the claimed requester.
            trail.record(
                msg, stage, now, out, outcome=AuditOutcome.BLOCKED, reasons=blocked, **context
            )
            return
        seen_key = ("response", dept, response.request_id)
        if seen_key in self._seen:
            trail.record(
                msg,
                stage,
                now,
                out,
                outcome=AuditOutcome.DUPLICATE,
                reasons=[DUPLICATE_RESPONSE],
                **context,
            )
            return
        if self._seen.before_horizon(response.issued_at):
            # Its first release, if there was one, may be forgotten: refuse (see dedupe).
            reasons = [BEFORE_REPLAY_HORIZON]
            trail.record(
                msg, stage, now, out, outcome=AuditOutcome.BLOCKED, reasons=reasons, **context
            )
            return
        self._seen.add(seen_key, now)
        out.seen_keys.append(seen_key)

        release = self._release.check(policy, response, now)
        reply: dict[str, Any] = dict(
            request_id=response.request_id,
            requester=response.requester,
            provider=response.responder,
            agreement_id=response.agreement_id,
            purpose=response.purpose,
            status=response.status,
            policy_version=policy.version,
            replied_at=now,
        )
        if not release.allowed:
            reasons = list(release.reasons)
            trail.record(
                msg, stage, now, out, outcome=AuditOutcome.BLOCKED, reasons=reasons, **context
            )
            self._reply(out, reply, outcome=ReplyOutcome.DENIED, reasons=reasons)
            return
        if response.status is not ResponseStatus.FOUND or response.record is None:
            reason = (
                NOTHING_TO_RELEASE
                if response.status is not ResponseStatus.ERROR
                else Reason(code="provider.error", message=response.error or "the provider failed")
            )
            trail.record(
                msg, stage, now, out, outcome=AuditOutcome.RELEASED, reasons=[reason], **context
            )
            self._reply(out, reply, outcome=ReplyOutcome.APPROVED, reasons=[reason])
            if key is not None and response.status is ResponseStatus.NOT_FOUND:
                audited = {**context, "outcome": AuditOutcome.RELEASED, "reasons": [reason]}
                replied = {**reply, "outcome": ReplyOutcome.APPROVED, "reasons": [reason]}
                self._compile(key, msg, release, None, _NO_RECORD, audited, replied)
            return
        try:
            record = self._codec.decode_record_as(
                response.record, DATASET_BY_PROVIDER[response.responder]
            )
        except DecodeError as exc:
            trail.record(
                msg,
                stage,
                now,
                out,
                outcome=AuditOutcome.DEAD_LETTERED,
                reasons=[Reason(code=exc.code, message=f"provider record unreadable: {exc}")],
                **context,
            )
            trail.dead_letter_only(msg, exc.code, str(exc), now, out)
            self._reply(
                out,
                reply,
                outcome=ReplyOutcome.DENIED,
                status=ResponseStatus.ERROR,
                reasons=[UNREADABLE_RECORD],
            )
            return
        result, reasons, withheld_whole = _redacted(release, record, now)
        audited = {
            **context,
            "outcome": AuditOutcome.REDACTED if result.withheld else AuditOutcome.RELEASED,
            "reasons": reasons,
            "fields_released": list(result.released),
            "fields_transformed": list(result.transformed),
            "fields_withheld": list(result.withheld),
        }
        subject_key = self._subjects.subject_key(response.responder, record)
        trail.record(msg, stage, now, out, subject_key=subject_key, **audited)
        replied = {
            **reply,
            "outcome": ReplyOutcome.REDACTED if result.withheld else ReplyOutcome.APPROVED,
            "reasons": reasons,
            "released_fields": list(result.released),
            "withheld_fields": list(result.withheld),
        }
        text = None if withheld_whole else record_json(result.record)
        self._reply(out, replied, record_json=text)
        if key is not None and not withheld_whole:
            dataset = DATASET_BY_PROVIDER[response.responder]
            shape = (result.released, result.transformed, result.withheld)
            self._compile(key, msg, release, dataset, shape, audited, replied)

    def _class_key(
        self, msg: InputMessage, raw: Mapping[str, Any], policy: CompiledPolicy, now: datetime
    ) -> ResponseKey:
        """The class of response ``raw`` received as ``msg`` (see :mod:`.classes`)."""
        day = self._day.of(now)
        return (
            msg.topic,
            raw["responder"],
            raw["requester"],
            raw["agreement_id"],
            raw["purpose"],
            tuple(raw["wanted"]),
            raw["status"],
            policy.version,
            day,
        )

    def _planned(
        self,
        msg: InputMessage,
        dept: str,
        raw: Mapping[str, Any],
        plan: ResponsePlan,
        now: datetime,
        out: BatchOutputs,
    ) -> bool:
        """Handle ``raw`` by its class's plan, as the general way would; False (having changed
        nothing) if something about this response is outside what the plan covers."""
        request_id: str = raw["request_id"]
        issued_at: datetime = raw["issued_at"]
        if not self._signer.verify_in(plan.token_context, raw["token"], request_id, issued_at):
            return False
        if now - issued_at > self._token_ttl:
            return False
        seen_key = ("response", dept, request_id)
        if seen_key in self._seen or self._seen.before_horizon(issued_at):
            return False
        record_json: str | None = None
        subject_key: str | None = None
        if plan.dataset is None:
            shape_key = _NO_RECORD
        else:
            data = raw["record"]
            if data is None:
                return False
            try:
                record = self._codec.decode_record_as(data, plan.dataset)
            except DecodeError:
                return False
            if plan.release.subject_problem(record, self._day.of(now)) is not None:
                return False
            assert plan.redaction is not None  # a plan with a dataset has one
            record_json, shape_key = plan.redaction(record)
            subject_key = self._subjects.subject_key(dept, record)
        shape = plan.shapes.get(shape_key)
        if shape is None:  # the general way adds it to the plan
            return False
        self._seen.add(seen_key, now)
        out.seen_keys.append(seen_key)
        holes = {"request_id": request_id, "subject_key": subject_key}
        self._trail.record_from(msg, _RESPONSE, now, out, shape.audit, holes, shape.observed)
        reply = {"request_id": request_id, "replied_at": now, "record_json": record_json}
        value = shape.reply.fill(reply)
        out.routed.append(OutputMessage(plan.reply_topic, request_id.encode(), value))
        return True

    def _compile(
        self,
        key: ResponseKey,
        msg: InputMessage,
        release: ReleaseCheck,
        dataset: str | None,
        shape: ShapeKey,
        audited: Mapping[str, Any],
        replied: Mapping[str, Any],
    ) -> None:
        """Add the outputs of ``shape`` to the plan of class ``key`` (made if it has none):
        ``audited`` and ``replied`` are the audit and reply fields but for their holes."""
        plan = self._classes.get(key)
        if plan is None:
            context = self._signer.context(
                requester=key[2],
                provider=key[1],
                agreement_id=key[3],
                purpose=key[4],
                wanted=key[5],
            )
            redaction = None
            if dataset is not None:
                layout = record_layout(self._codec.registry.get(dataset).parsed)
                name = dataset.rsplit(".", 1)[-1]
                redaction = compile_redaction(name, layout, release.paths, release.transforms)
            reply_topic = self._topics.replies(key[2])
            plan = ResponsePlan(release, context, dataset, reply_topic, redaction)
            self._classes.put(key, plan)
        if shape in plan.shapes or len(plan.shapes) >= _SHAPES_PER_PLAN:
            return
        observed = MappingProxyType({k: v for k, v in audited.items() if k not in _AUDIT_HOLES})
        constants = {k: v for k, v in replied.items() if k not in _REPLY_HOLES}
        plan.shapes[shape] = RedactedShape(
            audit=self._trail.template(msg.topic, _RESPONSE, observed, _AUDIT_HOLES),
            observed=observed,
            reply=self._codec.template(Reply, constants, _REPLY_HOLES),
        )

    def _problems(self, response: ProviderResponse, dept: str, now: datetime) -> list[Reason]:
        """Why the response may not be released whatever it says: wrong sender, a token the
        gateway did not issue for exactly this context, or one too old."""
        if response.responder != dept:
            return [
                Reason(
                    code="identity.responder_mismatch",
                    message=f"response on {dept!r}'s topic claims to come from "
                    f"{response.responder!r}; a department can only answer as itself",
                )
            ]
        valid = self._signer.verify(
            response.token,
            request_id=response.request_id,
            requester=response.requester,
            provider=response.responder,
            agreement_id=response.agreement_id,
            purpose=response.purpose,
            wanted=response.wanted,
            issued_at=response.issued_at,
        )
        if not valid:
            return [
                Reason(
                    code="token.invalid",
                    message="unsolicited or altered response: its approval token does not match "
                    "a request the gateway approved for this responder",
                )
            ]
        if now - response.issued_at > self._token_ttl:
            return [
                Reason(
                    code="token.expired",
                    message=f"response arrived more than {self._token_ttl} after approval",
                )
            ]
        return []

    def _reply(self, out: BatchOutputs, fields: Mapping[str, Any], **extra: Any) -> None:
        reply = {**fields, **extra}
        out.routed.append(
            OutputMessage(
                self._topics.replies(reply["requester"]),
                reply["request_id"].encode(),
                self._codec.encode_fields(Reply, reply),
            )
        )


def _redacted(
    release: ReleaseCheck, record: Mapping[str, Any], now: datetime
) -> tuple[RedactionResult, list[Reason], bool]:
    """The record as the purpose may release it, the reasons to give, and whether the whole
    record is withheld because of who its subject is (for example a child)."""
    reasons = list(release.reasons)
    problem = release.subject_problem(record, utc_day(now))
    if problem is not None:
        reasons.append(problem)
        return RedactionResult({}, (), leaf_paths(record)), reasons, True
    result = redact(record, release.paths, transforms=release.transforms)
    if result.withheld:
        reasons.append(withheld_reason(result.withheld))
    if result.transformed:
        reasons.append(transformed_reason(result.transformed))
    return result, reasons, False
