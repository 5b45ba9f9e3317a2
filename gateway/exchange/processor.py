"""The exchange processor: the gateway's pure core.

One input record in, output records out; no I/O, no clock of its own (the runner passes ``now``
per batch). The request path decides and routes or denies; the response path verifies, redacts
and replies. Every decision, and every input that could not be processed, yields an audit record.

A request under a capped purpose is not decided where it arrives: it is forwarded, undecided and
unaudited, to the capped topic keyed by its cap key, so every request of one key reaches the one
instance that owns that capped partition and its counter (:attr:`ExchangeProcessor.cap_counters`).
That instance decides it like a direct request and audits it with its original coordinates.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from gateway.audit.chain import CHECKPOINT_KEY, AuditChain
from gateway.audit.gaps import InputGap, InputGapDetector
from gateway.audit.subject import SubjectKeyer
from gateway.envelope.codec import Codec
from gateway.envelope.datasets import DATASET_BY_PROVIDER, SUBJECT_IDENTIFIER_BY_PROVIDER
from gateway.envelope.models import (
    AuditOutcome,
    AuditStage,
    CappedRequest,
    DeadLetter,
    ExchangeRequest,
    ProviderResponse,
    Reason,
    Reply,
    ReplyOutcome,
    ResponseStatus,
    RoutedRequest,
)
from gateway.errors import DecodeError, GatewayError, IdentityError
from gateway.exchange.dedupe import SeenIds
from gateway.exchange.messages import BatchOutputs, InputMessage, OutputMessage
from gateway.exchange.reasons import (
    DUPLICATE_REQUEST,
    DUPLICATE_RESPONSE,
    NOTHING_TO_RELEASE,
    UNREADABLE_RECORD,
    audit_safe,
    transformed_reason,
    withheld_reason,
)
from gateway.exchange.release import ReleaseCheck, ReleaseChecker
from gateway.exchange.tokens import TokenSigner
from gateway.policy import CompiledPolicy, VolumeCounter, cap_key_bytes, decide
from gateway.redaction import RedactionResult, leaf_paths, redact
from gateway.transport.topics import TopicNames

__all__ = ["ExchangeProcessor"]

log = logging.getLogger("gateway.audit")


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot represent {type(value).__name__} in JSON")


class ExchangeProcessor:
    """Turns batches of input records into audit records, routed messages and dead letters."""

    def __init__(
        self,
        *,
        policy: CompiledPolicy,
        codec: Codec,
        topics: TopicNames,
        signer: TokenSigner,
        subjects: SubjectKeyer,
        instance_id: str,
        token_ttl: timedelta = timedelta(hours=24),
        seen: SeenIds | None = None,
        audit_chain: AuditChain | None = None,
        audit_partitions: int = 1,
    ) -> None:
        self.policy = policy
        """The active policy set; replacing it takes effect from the next record."""
        self._codec = codec
        self._topics = topics
        self._signer = signer
        self._subjects = subjects
        self._instance = instance_id
        self._token_ttl = token_ttl
        self._seen = seen if seen is not None else SeenIds()
        self._release = ReleaseChecker()
        self.cap_counters: dict[int, VolumeCounter] = {}
        """Volume counters by capped-topic partition, for the partitions this instance owns: the
        runner restores one before the partition's first batch and drops it when the partition
        moves. A capped request from a partition without one is denied (``cap.unchecked``)."""
        self.audit_chain = audit_chain or AuditChain(codec, instance_id=instance_id)
        """Seals audit records into one hash chain per audit partition."""
        self.audit_partitions = audit_partitions
        """The audit topic's partition count: input partition ``p`` is audited on partition
        ``p % audit_partitions`` (the runner sets it once it knows the topic)."""
        self.input_gaps = InputGapDetector()
        """Offsets expected next per input partition; a jump past them is audited."""

    @property
    def codec(self) -> Codec:
        """The codec every message is read and written with."""
        return self._codec

    # --- batch entry point ----------------------------------------------------------------------

    def process_batch(self, messages: Iterable[InputMessage], now: datetime) -> BatchOutputs:
        out = BatchOutputs()
        for msg in messages:
            self.process(msg, now, out)
        return out

    def forget(self, out: BatchOutputs) -> None:
        """Undo the de-duplication marks of a batch whose outputs were not written."""
        for key in out.seen_keys:
            self._seen.discard(key)

    def recall(self, topic: str, value: bytes | None) -> None:
        """Remember the exchange behind one of our earlier outputs (inbox request or reply).

        A fresh instance calls this for the recent tail of the output topics before it
        consumes, so a request redelivered after a crash or restart is still answered once.
        """
        parsed = self._topics.parse(topic)
        if parsed is None or value is None:
            return
        kind, dept = parsed
        try:
            if kind == "inbox":
                routed = self._codec.decode(value, RoutedRequest)
                self._seen.add(("request", routed.requester, routed.request_id))
            elif kind == "replies":
                reply = self._codec.decode(value, Reply)
                self._seen.add(("request", dept, reply.request_id))
                if reply.status is not None:  # an answer: the response was released already
                    self._seen.add(("response", reply.provider, reply.request_id))
        except DecodeError:
            return

    def process(self, msg: InputMessage, now: datetime, out: BatchOutputs) -> None:
        """Process one record; never raises for bad input (it is dead-lettered instead)."""
        gap = self.input_gaps.observe(msg.topic, msg.partition, msg.offset)
        if gap is not None:
            self._audit_gap(gap, now, out)
        parsed = self._topics.parse(msg.topic)
        try:
            if parsed is None or parsed[0] not in ("requests", "responses"):
                if msg.topic != self._topics.capped:
                    raise _Unroutable(f"the gateway does not consume topic {msg.topic!r}")
                parsed = ("capped", "")
            if msg.value is None:
                raise DecodeError("record has no value (tombstone)")
            kind, dept = parsed
            if kind == "requests":
                self._on_request(msg, dept, now, out)
            elif kind == "responses":
                self._on_response(msg, dept, now, out)
            else:
                self._on_capped(msg, now, out)
        except GatewayError as exc:
            self._dead_letter(msg, exc.code, str(exc), now, out)
        except Exception as exc:  # error boundary: a bug must not stop the gateway or lose input
            self._dead_letter(msg, "internal_error", f"{type(exc).__name__}: {exc}", now, out)

    # --- request path ---------------------------------------------------------------------------

    def _on_request(self, msg: InputMessage, dept: str, now: datetime, out: BatchOutputs) -> None:
        request = self._codec.decode(msg.value or b"", ExchangeRequest)
        policy = self.policy
        capped = policy.capped
        if capped and (request.agreement_id, request.purpose) in capped:
            self._forward(msg, dept, request, out)
            return
        self._decide(msg, dept, request, policy, now, out)

    def _forward(
        self, msg: InputMessage, dept: str, request: ExchangeRequest, out: BatchOutputs
    ) -> None:
        """Send a request under a capped purpose to the owner of its cap key's counter. Not a
        decision: no audit record; the input offset is committed once the forward is written."""
        envelope = CappedRequest(
            sender=dept,
            input_topic=msg.topic,
            input_partition=msg.partition,
            input_offset=msg.offset,
            request=msg.value or b"",
        )
        key = cap_key_bytes((request.agreement_id, request.purpose, dept))
        out.routed.append(OutputMessage(self._topics.capped, key, self._codec.encode(envelope)))

    def _on_capped(self, msg: InputMessage, now: datetime, out: BatchOutputs) -> None:
        """Decide a forwarded request with the counter of the capped partition it came from."""
        capped = self._codec.decode(msg.value or b"", CappedRequest)
        if self._topics.parse(capped.input_topic) != ("requests", capped.sender):
            raise IdentityError(
                f"capped request names sender {capped.sender!r} but arrived on "
                f"{capped.input_topic!r}, not that department's requests topic"
            )
        request = self._codec.decode(capped.request, ExchangeRequest)
        origin = InputMessage(
            capped.input_topic, capped.input_partition, capped.input_offset, None, capped.request
        )
        volume = self.cap_counters.get(msg.partition)
        self._decide(origin, capped.sender, request, self.policy, now, out, msg.partition, volume)

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
        subject_key = self._subject_key(request.provider, request.query)
        seen_key = ("request", dept, request.request_id)
        if not self._seen.add(seen_key):
            self._audit_duplicate(
                msg, request.request_id, dept, request, subject_key, now, out, chain
            )
            return
        out.seen_keys.append(seen_key)

        decision = decide(policy, request, sender=dept, now=now, volume=volume)
        if decision.cap_key is not None and volume is not None:  # counts from now on
            volume.record(decision.cap_key, now)
        wanted = list(decision.response_fields)
        record = dict(
            request_id=request.request_id,
            requester=request.requester,
            provider=request.provider,
            agreement_id=request.agreement_id,
            purpose=request.purpose,
            outcome=decision.outcome,
            reasons=list(decision.reasons),
            fields_requested=sorted(request.wanted) if request.wanted else wanted,
            fields_released=sorted(decision.query) if decision.allowed else [],
            fields_withheld=list(decision.removed_query_fields),
            subject_key=subject_key,
            policy_version=decision.policy_version,
        )
        self._audit(msg, AuditStage.REQUEST, now, out, chain=chain, **record)
        key = request.request_id.encode()
        if decision.allowed:
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
                RoutedRequest,
                {
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
                },
            )
            out.routed.append(OutputMessage(self._topics.inbox(request.provider), key, routed))
            return
        # A denial goes back to the department that sent the request, whoever it claimed to be.
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

    # --- response path --------------------------------------------------------------------------

    def _on_response(self, msg: InputMessage, dept: str, now: datetime, out: BatchOutputs) -> None:
        response = self._codec.decode(msg.value or b"", ProviderResponse)
        policy = self.policy
        context: dict[str, Any] = dict(
            request_id=response.request_id,
            requester=response.requester,
            provider=response.responder,
            agreement_id=response.agreement_id,
            purpose=response.purpose,
            policy_version=policy.version,
            fields_requested=list(response.wanted),
        )
        blocked = self._response_problems(response, dept, now)
        if blocked:
            # Unverified context is recorded as claimed; nothing reaches the claimed requester.
            self._audit(
                msg,
                AuditStage.RESPONSE,
                now,
                out,
                outcome=AuditOutcome.BLOCKED,
                reasons=blocked,
                **context,
            )
            return
        seen_key = ("response", dept, response.request_id)
        if not self._seen.add(seen_key):
            self._audit(
                msg,
                AuditStage.RESPONSE,
                now,
                out,
                outcome=AuditOutcome.DUPLICATE,
                reasons=[DUPLICATE_RESPONSE],
                **context,
            )
            return
        out.seen_keys.append(seen_key)

        release = self._release.check(policy, response, now)
        reply_fields: dict[str, Any] = dict(
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
            self._audit(
                msg,
                AuditStage.RESPONSE,
                now,
                out,
                outcome=AuditOutcome.BLOCKED,
                reasons=list(release.reasons),
                **context,
            )
            self._reply(
                out, reply_fields, outcome=ReplyOutcome.DENIED, reasons=list(release.reasons)
            )
            return
        if response.status is not ResponseStatus.FOUND or response.record is None:
            reason = (
                NOTHING_TO_RELEASE
                if response.status is not ResponseStatus.ERROR
                else (
                    Reason(code="provider.error", message=response.error or "the provider failed")
                )
            )
            self._audit(
                msg,
                AuditStage.RESPONSE,
                now,
                out,
                outcome=AuditOutcome.RELEASED,
                reasons=[reason],
                **context,
            )
            self._reply(out, reply_fields, outcome=ReplyOutcome.APPROVED, reasons=[reason])
            return
        try:
            record = self._codec.decode_record_as(
                response.record, DATASET_BY_PROVIDER[response.responder]
            )
        except DecodeError as exc:
            self._audit(
                msg,
                AuditStage.RESPONSE,
                now,
                out,
                outcome=AuditOutcome.DEAD_LETTERED,
                reasons=[Reason(code=exc.code, message=f"provider record unreadable: {exc}")],
                **context,
            )
            self._dead_letter_only(msg, exc.code, str(exc), now, out)
            self._reply(
                out,
                reply_fields,
                outcome=ReplyOutcome.DENIED,
                status=ResponseStatus.ERROR,
                reasons=[UNREADABLE_RECORD],
            )
            return
        result, reasons, withheld_whole = _redacted(release, record, now)
        outcome = AuditOutcome.REDACTED if result.withheld else AuditOutcome.RELEASED
        identifier = SUBJECT_IDENTIFIER_BY_PROVIDER.get(response.responder)
        subject_value = record.get(identifier) if identifier else None
        self._audit(
            msg,
            AuditStage.RESPONSE,
            now,
            out,
            outcome=outcome,
            reasons=reasons,
            fields_released=list(result.released),
            fields_transformed=list(result.transformed),
            fields_withheld=list(result.withheld),
            subject_key=(
                self._subjects.key(identifier, subject_value)
                if identifier and isinstance(subject_value, str)
                else None
            ),
            **context,
        )
        self._reply(
            out,
            reply_fields,
            outcome=ReplyOutcome.REDACTED if result.withheld else ReplyOutcome.APPROVED,
            reasons=reasons,
            record_json=None
            if withheld_whole
            else json.dumps(result.record, default=_json_default, separators=(",", ":")),
            released_fields=list(result.released),
            withheld_fields=list(result.withheld),
        )

    def _response_problems(
        self, response: ProviderResponse, dept: str, now: datetime
    ) -> list[Reason]:
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

    # --- outputs --------------------------------------------------------------------------------

    def _subject_key(self, provider: str, values: Mapping[str, Any]) -> str | None:
        identifier = SUBJECT_IDENTIFIER_BY_PROVIDER.get(provider)
        value = values.get(identifier) if identifier else None
        if identifier and isinstance(value, str) and value:
            return self._subjects.key(identifier, value)
        return None

    def _reply(self, out: BatchOutputs, fields: Mapping[str, Any], **extra: Any) -> None:
        reply = {**fields, **extra}
        out.routed.append(
            OutputMessage(
                self._topics.replies(reply["requester"]),
                reply["request_id"].encode(),
                self._codec.encode_fields(Reply, reply),
            )
        )

    def _audit(
        self,
        msg: InputMessage,
        stage: AuditStage,
        now: datetime,
        out: BatchOutputs,
        *,
        chain: int | None = None,
        **fields: Any,
    ) -> None:
        """Seal an audit record of input ``msg`` into the chain of the audit partition of input
        partition ``chain`` (default: ``msg``'s own partition)."""
        audit_chain = self.audit_chain
        partition = (msg.partition if chain is None else chain) % self.audit_partitions
        decision_id = uuid.uuid4().hex
        value = audit_chain.seal(
            partition,
            decision_id=decision_id,
            stage=stage,
            at=now,
            input_topic=msg.topic,
            input_partition=msg.partition,
            input_offset=msg.offset,
            gateway_instance=self._instance,
            **fields,
        )
        key = (fields.get("request_id") or decision_id).encode()
        out.audit.append(OutputMessage(self._topics.audit, key, value, partition))
        if audit_chain.checkpoint_due(partition):
            checkpoint = audit_chain.checkpoint(partition, now)
            out.audit.append(
                OutputMessage(self._topics.audit, CHECKPOINT_KEY, checkpoint, partition)
            )

    def policy_event(
        self,
        *,
        outcome: AuditOutcome,
        reasons: Sequence[Reason],
        version: str,
        source: str,
        now: datetime,
    ) -> BatchOutputs:
        """Audit a change of the policy set (applied or rejected) in every audit chain this
        instance writes, so each chain shows the switch before any decision made under it."""
        out = BatchOutputs()
        for partition in self.audit_chain.partitions:
            self._audit(
                InputMessage(source, partition, -1, None, None),
                AuditStage.POLICY,
                now,
                out,
                **_NO_EXCHANGE,
                outcome=outcome,
                reasons=list(reasons),
                policy_version=version,
            )
        return out

    def _audit_gap(self, gap: InputGap, now: datetime, out: BatchOutputs) -> None:
        log.warning("input gap: %s", gap.describe())
        self._audit(
            InputMessage(gap.topic, gap.partition, gap.first, None, None),
            AuditStage.INPUT,
            now,
            out,
            **_NO_EXCHANGE,
            outcome=AuditOutcome.INPUT_GAP,
            reasons=[Reason(code="input.gap", message=gap.describe())],
            policy_version=self.policy.version,
        )

    def _audit_duplicate(
        self,
        msg: InputMessage,
        request_id: str,
        dept: str,
        request: ExchangeRequest,
        subject_key: str | None,
        now: datetime,
        out: BatchOutputs,
        chain: int | None,
    ) -> None:
        self._audit(
            msg,
            AuditStage.REQUEST,
            now,
            out,
            chain=chain,
            request_id=request_id,
            requester=dept,
            provider=request.provider,
            agreement_id=request.agreement_id,
            purpose=request.purpose,
            outcome=AuditOutcome.DUPLICATE,
            reasons=[DUPLICATE_REQUEST],
            subject_key=subject_key,
            policy_version=self.policy.version,
        )

    def _dead_letter(
        self, msg: InputMessage, code: str, reason: str, now: datetime, out: BatchOutputs
    ) -> None:
        self._audit(
            msg,
            AuditStage.INPUT,
            now,
            out,
            **_NO_EXCHANGE,
            outcome=AuditOutcome.DEAD_LETTERED,
            reasons=[Reason(code=code, message=audit_safe(reason))],
            policy_version=self.policy.version,
        )
        self._dead_letter_only(msg, code, reason, now, out)

    def _dead_letter_only(
        self, msg: InputMessage, code: str, reason: str, now: datetime, out: BatchOutputs
    ) -> None:
        letter = DeadLetter(
            dead_letter_id=uuid.uuid4().hex,
            at=now,
            input_topic=msg.topic,
            input_partition=msg.partition,
            input_offset=msg.offset,
            key=msg.key,
            payload=msg.value or b"",
            error_code=code,
            reason=reason,
            gateway_instance=self._instance,
        )
        out.routed.append(
            OutputMessage(self._topics.deadletter, msg.key, self._codec.encode(letter))
        )


class _Unroutable(GatewayError):
    code = "unknown_topic"


_NO_EXCHANGE: dict[str, Any] = dict.fromkeys(
    ("request_id", "requester", "provider", "agreement_id", "purpose")
)
"""Audit fields of a record about no exchange: a gap, a dead letter, a policy change."""


def _redacted(
    release: ReleaseCheck, record: Mapping[str, Any], now: datetime
) -> tuple[RedactionResult, list[Reason], bool]:
    """The record as the purpose may release it, the reasons to give, and whether the whole
    record is withheld because of who its subject is (for example a child)."""
    reasons = list(release.reasons)
    problem = release.subject_problem(record, now)
    if problem is not None:
        reasons.append(problem)
        return RedactionResult({}, (), leaf_paths(record)), reasons, True
    result = redact(record, release.paths, transforms=release.transforms)
    if result.withheld:
        reasons.append(withheld_reason(result.withheld))
    if result.transformed:
        reasons.append(transformed_reason(result.transformed))
    return result, reasons, False
