"""The exchange processor: the gateway's pure core.

One input record in, output records out; no I/O, no clock of its own (the runner passes ``now``
per batch). Every routed request and reply carries the gateway's signature
(:mod:`gateway.envelope.signature`), so departments can tell them from messages written to their
topics by anyone else. Records from a ``requests`` topic or the capped topic take the request path
(:mod:`gateway.exchange.requests`), records from a ``responses`` topic the response path
(:mod:`gateway.exchange.responses`). Every decision, and every input that could not be processed,
yields an audit record (:mod:`gateway.exchange.auditing`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from gateway.audit.chain import AuditChain
from gateway.audit.subject import SubjectKeyer
from gateway.audit.withheld import WithheldValues
from gateway.envelope.codec import Codec
from gateway.envelope.models import (
    AuditOutcome,
    AuditStage,
    Reason,
    Reply,
    RoutedRequest,
)
from gateway.envelope.signature import MessageSigner
from gateway.envelope.topics import TopicNames
from gateway.errors import DecodeError, GatewayError
from gateway.exchange.auditing import NO_EXCHANGE, AuditTrail
from gateway.exchange.classes import RequestClasses, ResponseClasses
from gateway.exchange.dedupe import SeenIds
from gateway.exchange.forwarding import ForwardSigner
from gateway.exchange.labels import OutputLabels
from gateway.exchange.messages import BatchOutputs, InputMessage, OutputMessage
from gateway.exchange.observer import ExchangeObserver
from gateway.exchange.ownership import InputPartition, Ownership
from gateway.exchange.requests import RequestPath
from gateway.exchange.responses import ResponsePath
from gateway.exchange.tokens import TokenSigner
from gateway.policy import DEFAULT_SENT_AT_WINDOW, CompiledPolicy, SentAtWindow, VolumeCounter

__all__ = ["ExchangeProcessor"]

_ROUTES_KEPT = 1024


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
        message_signer: MessageSigner | None = None,
        forwards: ForwardSigner | None = None,
        sent_at_window: SentAtWindow = DEFAULT_SENT_AT_WINDOW,
        decision_classes: int = 4096,
        ids: Callable[[], str] | None = None,
    ) -> None:
        """``message_signer`` signs what departments receive; None: the development key.
        ``forwards`` MACs and checks capped-request forwards; by default its key is derived
        from ``signer``'s secret, so every instance with the same token secret agrees.
        ``sent_at_window`` bounds how far a request's ``sent_at`` may be from the batch's
        ``now``, the time every request of the batch is decided at.
        ``decision_classes`` bounds how many decision classes keep a compiled plan
        (:mod:`gateway.exchange.classes`; 0: none, every request goes the general way).
        ``ids`` makes decision and dead-letter ids (default: random; tests fix them)."""
        self._classes = RequestClasses(decision_classes)
        self._response_classes = ResponseClasses(decision_classes)
        self._policy = policy
        self._codec = codec
        self._topics = topics
        self._token_ttl = token_ttl
        self._labels = OutputLabels(topics, message_signer or MessageSigner.load())
        self._seen = seen if seen is not None else SeenIds()
        self._trail = AuditTrail(
            audit_chain or AuditChain(codec, instance_id=instance_id),
            codec,
            topics,
            instance_id,
            audit_partitions,
            ids,
        )
        self._requests = RequestPath(
            codec=codec,
            topics=topics,
            signer=signer,
            forwards=forwards or ForwardSigner.for_tokens(signer),
            subjects=subjects,
            seen=self._seen,
            trail=self._trail,
            withheld=WithheldValues.for_subjects(subjects),
            sent_at_window=sent_at_window,
            classes=self._classes,
        )
        self._responses = ResponsePath(
            codec=codec,
            topics=topics,
            signer=signer,
            subjects=subjects,
            seen=self._seen,
            trail=self._trail,
            token_ttl=token_ttl,
            classes=self._response_classes,
        )
        self._owned = Ownership(self._trail, topics.audit)
        self._gaps = self._owned.gaps
        self._routes: dict[str, tuple[str, str]] = {}
        """``(kind, dept)`` by input topic, as :meth:`TopicNames.parse` gives it (``("", "")``
        for a name that is not a department's)."""

    @property
    def policy(self) -> CompiledPolicy:
        """The active policy set; replacing it takes effect from the next record, and forgets
        every decision class compiled under the one before."""
        return self._policy

    @policy.setter
    def policy(self, policy: CompiledPolicy) -> None:
        self._classes.clear()
        self._response_classes.clear()
        self._policy = policy

    @property
    def decision_classes(self) -> RequestClasses:
        """The compiled decision classes of requests, with their counts of plans compiled and
        used."""
        return self._classes

    @property
    def response_classes(self) -> ResponseClasses:
        """The compiled classes of responses, with their counts of plans compiled and used."""
        return self._response_classes

    @property
    def codec(self) -> Codec:
        """The codec every message is read and written with."""
        return self._codec

    @property
    def token_ttl(self) -> timedelta:
        """How long an approval token stays valid: how far back the memory must vouch."""
        return self._token_ttl

    @property
    def seen(self) -> SeenIds:
        """The de-duplication memory, with its replay horizon (:mod:`gateway.exchange.dedupe`)."""
        return self._seen

    @property
    def dedupe_capacity(self) -> int:
        """How many exchanges the de-duplication memory holds before it forgets the oldest."""
        return self._seen.capacity

    @property
    def replay_horizon(self) -> datetime | None:
        """Responses to requests approved at or before it are refused (not vouched for)."""
        return self._seen.horizon

    @property
    def audit_chain(self) -> AuditChain:
        """Seals audit records into one hash chain per audit partition."""
        return self._trail.chain

    @property
    def observer(self) -> ExchangeObserver | None:
        """Told of every audit record sealed and every dead letter written (metrics)."""
        return self._trail.observer

    @observer.setter
    def observer(self, observer: ExchangeObserver | None) -> None:
        self._trail.observer = observer

    @property
    def audit_partitions(self) -> int:
        """The audit topic's partition count (:meth:`set_audit_layout`)."""
        return self._trail.partitions

    @property
    def cap_counters(self) -> Mapping[int, VolumeCounter]:
        """Volume counters by capped-topic partition, for the partitions this instance owns
        (:meth:`restore_caps`). A capped request from a partition without one is denied
        (``cap.unchecked``)."""
        return self._owned.caps

    # --- partitions changing hands (:mod:`gateway.exchange.ownership`) --------------------------

    def set_audit_layout(self, partitions: int) -> None:
        """The audit topic has ``partitions`` partitions: input partition ``p`` is audited on
        ``p % partitions`` from now on."""
        self._owned.set_layout(partitions)

    def audit_partition_of(self, input_partition: int) -> int:
        """The audit partition (and transaction lane) input partition ``input_partition`` is
        audited on."""
        return self._owned.audit_partition_of(input_partition)

    @property
    def audit_chained(self) -> bool:
        """Whether audit records are hash-chained (off only to measure what the chain costs)."""
        return self._trail.chain.chained

    @property
    def held_audit_partitions(self) -> list[int]:
        """The audit partitions whose chain heads this processor holds, ascending: those it
        took over and those it sealed in since (none with the chain off)."""
        return self._trail.chain.partitions

    def awaiting_take_over(self, inputs: Iterable[InputPartition]) -> list[InputPartition]:
        """Those of ``inputs`` to :meth:`take_over` before their records are processed: never
        taken over, given up since, or audited on an audit partition abandoned since."""
        return self._owned.awaiting(inputs)

    def tails_needed(self, inputs: Iterable[InputPartition]) -> set[int]:
        """The audit partitions of ``inputs`` whose last messages :meth:`take_over` needs: those
        without a chain head (none with the chain off)."""
        return self._owned.tails_needed(inputs)

    def take_over(
        self,
        offsets: Mapping[InputPartition, int | None],
        tails: Mapping[int, bytes | None] | None = None,
    ) -> None:
        """Own the input partitions of ``offsets``, each expected next at its committed offset
        (None: none committed, nothing expected), and continue the chain of each audit partition
        of ``tails`` after its last message (None: found empty, owed a genesis checkpoint).

        Raises ``ChainBrokenError``, taking nothing over, when a last message is not a chain
        link."""
        self._owned.take_over(offsets, tails or {})

    def give_up(self, inputs: Iterable[InputPartition]) -> None:
        """Forget ``inputs`` (moved to another instance, or their writes aborted) and the chains
        of their audit partitions: taken over afresh if they come back."""
        self._owned.give_up(inputs)

    def abandon(self, audit_partitions: Iterable[int]) -> None:
        """Forget the chains of ``audit_partitions``, whose last messages may not have been
        written: their input partitions are taken over again before the next record."""
        self._owned.abandon(audit_partitions)

    def reseal(
        self,
        messages: Sequence[OutputMessage],
        tails: Mapping[int, bytes | None],
        now: datetime,
    ) -> list[OutputMessage]:
        """After a failed write of audit ``messages``: continue their partitions' chains after
        ``tails`` (what the topic now holds last, None: empty) and seal them again there (any
        that did land stay, as repeats with the same ``decision_id``); checkpoints are signed
        afresh at ``now``."""
        return self._owned.reseal(messages, tails, now)

    def checkpoints(
        self, now: datetime, *, partitions: Iterable[int] | None = None, force: bool = False
    ) -> list[OutputMessage]:
        """The audit checkpoints due now (every pending one of ``partitions`` when ``force``:
        shutdown, giving partitions up), sealed as the next links of their chains."""
        return self._owned.checkpoints(now, partitions, force)

    def caps_missing(self, capped_partitions: Iterable[int]) -> list[int]:
        """Those of ``capped_partitions`` with no volume counter, ascending."""
        return self._owned.caps_missing(capped_partitions)

    def restore_caps(self, counters: Mapping[int, VolumeCounter]) -> None:
        """Count the capped requests of each capped-topic partition of ``counters`` with its
        counter (restored from the audit log), replacing any held."""
        self._owned.restore_caps(counters)

    def drop_caps(self, capped_partitions: Iterable[int]) -> None:
        """Drop the volume counters of ``capped_partitions`` (given up): their capped requests are
        denied until a counter is restored."""
        self._owned.drop_caps(capped_partitions)

    def cannot_vouch_until(self, at: datetime) -> None:
        """Responses to requests approved at or before ``at`` may have been released without
        this processor remembering it (a recall could not read back that far): refuse them."""
        self._seen.cannot_vouch_until(at)

    # --- batches --------------------------------------------------------------------------------

    def process_batch(self, messages: Iterable[InputMessage], now: datetime) -> BatchOutputs:
        """Process ``messages``; the routed outputs get their headers, and what departments
        receive of them is signed, under one signature for the batch
        (:mod:`gateway.envelope.signature`)."""
        out = BatchOutputs()
        for msg in messages:
            self.process(msg, now, out)
        self._labels.sign(out.routed)
        return out

    def forget(self, out: BatchOutputs) -> None:
        """Undo the de-duplication marks of a batch whose outputs were not written."""
        for key in out.seen_keys:
            self._seen.discard(key)

    def recall(self, topic: str, value: bytes | None, now: datetime | None = None) -> None:
        """Remember the exchange behind one of our earlier outputs (inbox request or reply).

        A fresh instance calls this for the output topics' records of the last token lifetime
        before it consumes, so a request redelivered or a response replayed after a crash or
        restart is still answered once. A released answer is remembered with its reply's time,
        kept no later than ``now`` (the recall's start), so a reply dated in the future cannot
        push the replay horizon past it.
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
                    at = reply.replied_at if now is None else min(reply.replied_at, now)
                    self._seen.add(("response", reply.provider, reply.request_id), at)
        except DecodeError:
            return

    def process(self, msg: InputMessage, now: datetime, out: BatchOutputs) -> None:
        """Process one record; never raises for bad input (it is dead-lettered instead). Its
        routed outputs have no headers yet (dead letters aside): :meth:`process_batch` labels
        and signs a batch's together."""
        policy = self.policy
        gap = self._gaps.observe(msg.topic, msg.partition, msg.offset)
        if gap is not None:
            self._trail.gap(gap, policy.version, now, out)
        try:
            kind, dept = self._routes.get(msg.topic) or self._route(msg.topic)
            if kind not in ("requests", "responses") and msg.topic != self._topics.capped:
                raise _Unroutable(f"the gateway does not consume topic {msg.topic!r}")
            if msg.value is None:
                raise DecodeError("record has no value (tombstone)")
            if kind == "requests":
                self._requests.on_request(msg, dept, policy, now, out)
            elif kind == "responses":
                self._responses.on_response(msg, dept, policy, now, out)
            else:
                self._requests.on_capped(msg, policy, self._owned.caps, now, out)
        except GatewayError as exc:
            self._trail.dead_letter(msg, exc.code, str(exc), policy.version, now, out)
        except Exception as exc:  # error boundary: a bug must not stop the gateway or lose input
            reason = f"{type(exc).__name__}: {exc}"
            self._trail.dead_letter(msg, "internal_error", reason, policy.version, now, out)

    def _route(self, topic: str) -> tuple[str, str]:
        route = self._topics.parse(topic) or ("", "")
        if len(self._routes) >= _ROUTES_KEPT:  # only the topics consumed come here, as a rule
            self._routes.clear()
        self._routes[topic] = route
        return route

    # --- policy changes -------------------------------------------------------------------------

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
        for partition in self._trail.chain.partitions:
            self._trail.record(
                InputMessage(source, partition, -1, None, None),
                AuditStage.POLICY,
                now,
                out,
                **NO_EXCHANGE,
                outcome=outcome,
                reasons=list(reasons),
                policy_version=version,
            )
        return out


class _Unroutable(GatewayError):
    code = "unknown_topic"
