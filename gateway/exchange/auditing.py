"""The processor's audit trail: one sealed audit record per decision, and dead letters.

Records are sealed into the hash chain of one audit partition: the input partition's own, modulo
the audit topic's partition count, so the records of one input partition stay in order.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import datetime
from typing import Any

from gateway.audit.chain import CHECKPOINT_KEY, AuditChain
from gateway.audit.gaps import InputGap
from gateway.envelope import headers as h
from gateway.envelope.codec import Codec, MessageTemplate
from gateway.envelope.models import (
    AuditCheckpoint,
    AuditOutcome,
    AuditRecord,
    AuditStage,
    DeadLetter,
    Reason,
)
from gateway.envelope.topics import TopicNames
from gateway.exchange.messages import BatchOutputs, InputMessage, OutputMessage
from gateway.exchange.observer import ExchangeObserver
from gateway.exchange.reasons import audit_safe

__all__ = ["NO_EXCHANGE", "AuditTrail"]

log = logging.getLogger("gateway.audit")

_RECORD = h.schema_header(AuditRecord)
_CHECKPOINT = h.schema_header(AuditCheckpoint)
_DEAD_LETTER = h.schema_header(DeadLetter)

_DEAD_LETTER_ID = re.compile(r"[0-9a-f]{32}")


def _replayed(dead_letter_id: str) -> Reason:
    shown = dead_letter_id if _DEAD_LETTER_ID.fullmatch(dead_letter_id) else "<ill-shaped id>"
    return Reason(code="input.replayed", message=f"replay of dead letter {shown}")


NO_EXCHANGE: dict[str, Any] = dict.fromkeys(
    ("request_id", "requester", "provider", "agreement_id", "purpose")
)
"""Audit fields of a record about no exchange: a gap, a dead letter, a policy change."""

TEMPLATE_HOLES = (
    "prev_hash",
    "sequence",
    "decision_id",
    "at",
    "input_partition",
    "input_offset",
)
"""The audit record fields :meth:`AuditTrail.record_from` fills in itself."""


def random_ids(block: int = 256) -> Callable[[], str]:
    """A source of random 128-bit ids, in hex (decision and dead-letter ids): ``block`` ids'
    worth of ``os.urandom`` drawn at a time, as one call costs about as much as cutting a
    hundred ids from a block. One source per trail: it is not for sharing between threads."""

    def ids() -> Iterator[str]:
        while True:
            drawn = os.urandom(16 * block).hex()
            yield from (drawn[i : i + 32] for i in range(0, 32 * block, 32))

    return ids().__next__


class AuditTrail:
    """Seals audit records and writes dead letters into a batch's outputs."""

    __slots__ = (
        "_audit_topic",
        "_codec",
        "_ids",
        "_instance",
        "_topics",
        "chain",
        "observer",
        "partitions",
    )

    def __init__(
        self,
        chain: AuditChain,
        codec: Codec,
        topics: TopicNames,
        instance_id: str,
        partitions: int = 1,
        ids: Callable[[], str] | None = None,
    ) -> None:
        """``ids`` makes decision and dead-letter ids (default: :func:`random_ids`; tests fix
        them to compare outputs)."""
        self.chain = chain
        self._ids = ids if ids is not None else random_ids()
        self.partitions = partitions
        """The audit topic's partition count (set once the runner knows the topic)."""
        self._codec = codec
        self._topics = topics
        self._audit_topic = topics.audit
        self._instance = instance_id
        self.observer: ExchangeObserver | None = None
        """Told of every record sealed and every dead letter (metrics); None: nobody."""

    def record(
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
        partition = (msg.partition if chain is None else chain) % self.partitions
        decision_id = self._ids()
        if msg.replay_of is not None:
            fields["reasons"] = [*fields.get("reasons", ()), _replayed(msg.replay_of)]
        value = self.chain.seal(
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
        self._sealed(
            partition, value, stage, fields, fields.get("request_id"), decision_id, now, out
        )

    def template(
        self, input_topic: str, stage: AuditStage, fields: Mapping[str, Any], holes: Collection[str]
    ) -> MessageTemplate:
        """A template of the audit records :meth:`record` would seal of input from
        ``input_topic`` with ``fields``, but for ``holes`` and :data:`TEMPLATE_HOLES`."""
        constants = {
            **fields,
            "stage": stage,
            "input_topic": input_topic,
            "gateway_instance": self._instance,
        }
        return self._codec.template(AuditRecord, constants, {*TEMPLATE_HOLES, *holes})

    def record_from(
        self,
        msg: InputMessage,
        stage: AuditStage,
        now: datetime,
        out: BatchOutputs,
        template: MessageTemplate,
        holes: dict[str, Any],
        observed: Mapping[str, Any],
    ) -> None:
        """What :meth:`record` does for the fields of ``template`` (:meth:`template`) with
        ``holes`` filled in: the same record, link, key, headers and checkpoint. ``observed``
        is what the observer is told of: the fields every record of the template shares. Not
        for replays, whose reasons name the dead letter."""
        partition = msg.partition % self.partitions
        decision_id = holes["decision_id"] = self._ids()
        holes["at"] = now
        holes["input_partition"] = msg.partition
        holes["input_offset"] = msg.offset
        value = self.chain.seal_template(partition, now, template, holes)
        self._sealed(partition, value, stage, observed, holes["request_id"], decision_id, now, out)

    def _sealed(
        self,
        partition: int,
        value: bytes,
        stage: AuditStage,
        fields: Mapping[str, Any],
        request_id: str | None,
        decision_id: str,
        now: datetime,
        out: BatchOutputs,
    ) -> None:
        """Tell the observer of a sealed record, and put it in the outputs, with a checkpoint
        after it when one is due."""
        if self.observer is not None:
            self.observer.audited(stage, fields)
        key = (request_id or decision_id).encode()
        headers = [_RECORD, (h.REQUEST_ID, key)] if request_id else [_RECORD]
        audit_topic = self._audit_topic
        out.audit.append(OutputMessage(audit_topic, key, value, partition, headers))
        audit_chain = self.chain
        if audit_chain.checkpoint_due(partition):
            checkpoint = audit_chain.checkpoint(partition, now)
            out.audit.append(
                OutputMessage(audit_topic, CHECKPOINT_KEY, checkpoint, partition, [_CHECKPOINT])
            )

    def gap(self, gap: InputGap, policy_version: str, now: datetime, out: BatchOutputs) -> None:
        """Record offsets an input partition skipped (for example, lost to retention)."""
        log.warning("input gap: %s", gap.describe())
        self.record(
            InputMessage(gap.topic, gap.partition, gap.first, None, None),
            AuditStage.INPUT,
            now,
            out,
            **NO_EXCHANGE,
            outcome=AuditOutcome.INPUT_GAP,
            reasons=[Reason(code="input.gap", message=gap.describe())],
            policy_version=policy_version,
        )

    def dead_letter(
        self,
        msg: InputMessage,
        code: str,
        reason: str,
        policy_version: str,
        now: datetime,
        out: BatchOutputs,
    ) -> None:
        """Audit input that could not be processed and send it to the dead-letter topic."""
        self.record(
            msg,
            AuditStage.INPUT,
            now,
            out,
            **NO_EXCHANGE,
            outcome=AuditOutcome.DEAD_LETTERED,
            reasons=[Reason(code=code, message=audit_safe(reason))],
            policy_version=policy_version,
        )
        self.dead_letter_only(msg, code, reason, now, out)

    def refuse(
        self,
        msg: InputMessage,
        reasons: list[Reason],
        policy_version: str,
        now: datetime,
        out: BatchOutputs,
        **fields: Any,
    ) -> None:
        """Audit input refused for ``reasons`` (audit-safe already) and dead-letter it under the
        first one's code; ``fields`` name what is known of the exchange (default: nothing)."""
        self.record(
            msg,
            AuditStage.INPUT,
            now,
            out,
            **{**NO_EXCHANGE, **fields},
            outcome=AuditOutcome.DEAD_LETTERED,
            reasons=reasons,
            policy_version=policy_version,
        )
        text = "; ".join(r.message for r in reasons)
        self.dead_letter_only(msg, reasons[0].code, text, now, out)

    def dead_letter_only(
        self, msg: InputMessage, code: str, reason: str, now: datetime, out: BatchOutputs
    ) -> None:
        """Send ``msg`` to the dead-letter topic; the caller audits it in its own words.

        Logged with its code and coordinates (the reason as the audit log gives it, never a
        value), so an operator sees every dead letter without reading the topic."""
        log.warning(
            "dead letter [%s] %s[%d]@%d: %s",
            code,
            msg.topic,
            msg.partition,
            msg.offset,
            audit_safe(reason),
        )
        if self.observer is not None:
            self.observer.dead_lettered(msg, code)
        letter = DeadLetter(
            dead_letter_id=self._ids(),
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
        headers = [
            _DEAD_LETTER,
            (h.REASON, code.encode()),
            (h.ORIGINAL_TOPIC, msg.topic.encode()),
            (h.ORIGINAL_PARTITION, str(msg.partition).encode()),
            (h.ORIGINAL_OFFSET, str(msg.offset).encode()),
        ]
        out.routed.append(
            OutputMessage(
                self._topics.deadletter, msg.key, self._codec.encode(letter), None, headers
            )
        )
