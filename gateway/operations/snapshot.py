"""A cluster snapshot: what an operator needs to see about one gateway deployment, as plain data.

One :class:`ClusterSnapshot` covers one Kafka cluster and topic prefix at one moment: the input
partitions with each gateway consumer group's committed offset and lag, decisions per agreement
and outcome over the last minute and hour, refusal reasons, dead letters (count and latest
reasons, never payloads), the audit partitions' chain heads and signed checkpoints, and the
policy versions the audit log names. :mod:`gateway.operations.reader` takes snapshots; this
module only holds and summarises them, so renderings (``gateway status``, the console) and tests
need no broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "AuditPartitionStatus",
    "ClusterSnapshot",
    "DeadLetterNote",
    "DeadLetters",
    "DecisionCount",
    "GroupOffset",
    "InputPartition",
    "PolicyVersionSeen",
    "RefusalReason",
    "TopicLag",
]


@dataclass(frozen=True, slots=True)
class GroupOffset:
    """Where one consumer group stands on one input partition."""

    group: str
    committed: int | None
    """The group's committed offset; None when it has committed none there."""
    lag: int
    """Records it has still to process: end minus committed, or end minus the earliest offset
    when it has committed nothing (a gateway group starts from the earliest)."""


@dataclass(frozen=True, slots=True)
class InputPartition:
    """One partition the gateway consumes: a department's requests or responses, or capped."""

    topic: str
    kind: str
    """``requests``, ``responses`` or ``capped``."""
    department: str | None
    """The department whose topic it is (None for the shared capped topic)."""
    partition: int
    begin: int
    """The earliest offset still held."""
    end: int
    """The offset the next record will get."""
    groups: tuple[GroupOffset, ...]

    def lag(self, group: str) -> int | None:
        for g in self.groups:
            if g.group == group:
                return g.lag
        return None


@dataclass(frozen=True, slots=True)
class TopicLag:
    """One input topic's partitions summed up for one group."""

    topic: str
    group: str
    partitions: int
    end: int
    """Records ever written (the sum of end offsets)."""
    lag: int
    lagging_partitions: int


@dataclass(frozen=True, slots=True)
class DecisionCount:
    """Audit records of one agreement and outcome in the recent past."""

    agreement_id: str | None
    """None for input that never became an exchange (dead letters, input gaps)."""
    outcome: str
    last_minute: int
    last_hour: int


@dataclass(frozen=True, slots=True)
class RefusalReason:
    """A reason given for denials or blocked answers in the last hour."""

    outcome: str
    code: str
    message: str
    """One of the messages given with this code."""
    last_hour: int


@dataclass(frozen=True, slots=True)
class DeadLetterNote:
    """A dead letter, without its payload: where the input was and why it was refused."""

    at: datetime | None
    input_topic: str
    input_partition: int
    input_offset: int
    error_code: str
    reason: str
    gateway_instance: str
    partition: int
    """Its partition on the dead-letter topic."""
    offset: int


@dataclass(frozen=True, slots=True)
class DeadLetters:
    total: int
    """Dead letters the topic still holds."""
    latest: tuple[DeadLetterNote, ...]
    """The newest first."""


@dataclass(frozen=True, slots=True)
class AuditPartitionStatus:
    """One audit partition's hash chain as the snapshot saw it."""

    partition: int
    begin: int
    end: int
    head_sequence: int | None
    """The sequence of its last message; None when it is empty (or the last is unchained)."""
    checkpoint_sequence: int | None
    """The sequence of the last signed checkpoint found; None when none was found."""
    checkpoint_at: datetime | None
    checkpoint_age_s: float | None
    checkpoint_valid: bool | None
    """Whether its signature holds for the verification key (None: no checkpoint found)."""
    problems: tuple[str, ...] = ()
    """Breaks seen in the messages this reader has followed (its tail, not the whole log)."""

    @property
    def unsigned(self) -> int | None:
        """Messages after the last checkpoint found (None when that is unknown)."""
        if self.head_sequence is None:
            return None
        if self.checkpoint_sequence is None:
            return None
        return self.head_sequence - self.checkpoint_sequence

    @property
    def ok(self) -> bool:
        return not self.problems and self.checkpoint_valid is not False


@dataclass(frozen=True, slots=True)
class PolicyVersionSeen:
    version: str
    records: int
    """Audit records of the last hour that name it."""
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    """Everything above for one cluster and prefix, taken at :attr:`taken_at`."""

    bootstrap: str
    prefix: str
    taken_at: datetime
    groups: tuple[str, ...]
    departments: tuple[str, ...]
    inputs: tuple[InputPartition, ...]
    decisions: tuple[DecisionCount, ...]
    reasons: tuple[RefusalReason, ...]
    dead_letters: DeadLetters
    audit: tuple[AuditPartitionStatus, ...]
    policy_versions: tuple[PolicyVersionSeen, ...]
    """Newest first: the first is the version in force when the last decision was made."""
    audit_read_from: datetime | None = None
    """The oldest decision time the counts could include (the read was bounded there)."""
    notes: tuple[str, ...] = field(default=())
    """Things the reader could not do or had to approximate."""

    # --- summaries --------------------------------------------------------------------------

    def topic_lags(self, group: str) -> list[TopicLag]:
        """Per input topic, in the order of :attr:`inputs`."""
        out: dict[str, TopicLag] = {}
        for p in self.inputs:
            lag = p.lag(group) or 0
            old = out.get(p.topic)
            out[p.topic] = TopicLag(
                p.topic,
                group,
                (old.partitions if old else 0) + 1,
                (old.end if old else 0) + p.end,
                (old.lag if old else 0) + lag,
                (old.lagging_partitions if old else 0) + (lag > 0),
            )
        return list(out.values())

    def total_lag(self, group: str) -> int:
        return sum(p.lag(group) or 0 for p in self.inputs)

    def decisions_for(self, agreement_id: str | None) -> dict[str, DecisionCount]:
        """Outcome -> counts for one agreement."""
        return {d.outcome: d for d in self.decisions if d.agreement_id == agreement_id}

    @property
    def policy_version(self) -> str | None:
        return self.policy_versions[0].version if self.policy_versions else None

    @property
    def audit_ok(self) -> bool:
        return all(a.ok for a in self.audit)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 strings."""
        return {
            "bootstrap": self.bootstrap,
            "prefix": self.prefix,
            "taken_at": self.taken_at.isoformat(),
            "groups": list(self.groups),
            "departments": list(self.departments),
            "inputs": [
                {
                    "topic": p.topic,
                    "kind": p.kind,
                    "department": p.department,
                    "partition": p.partition,
                    "begin": p.begin,
                    "end": p.end,
                    "groups": [
                        {"group": g.group, "committed": g.committed, "lag": g.lag} for g in p.groups
                    ],
                }
                for p in self.inputs
            ],
            "lag": {g: self.total_lag(g) for g in self.groups},
            "decisions": [
                {
                    "agreement_id": d.agreement_id,
                    "outcome": d.outcome,
                    "last_minute": d.last_minute,
                    "last_hour": d.last_hour,
                }
                for d in self.decisions
            ],
            "reasons": [
                {
                    "outcome": r.outcome,
                    "code": r.code,
                    "message": r.message,
                    "last_hour": r.last_hour,
                }
                for r in self.reasons
            ],
            "dead_letters": {
                "total": self.dead_letters.total,
                "latest": [
                    {
                        "at": _iso(n.at),
                        "input_topic": n.input_topic,
                        "input_partition": n.input_partition,
                        "input_offset": n.input_offset,
                        "error_code": n.error_code,
                        "reason": n.reason,
                        "gateway_instance": n.gateway_instance,
                        "partition": n.partition,
                        "offset": n.offset,
                    }
                    for n in self.dead_letters.latest
                ],
            },
            "audit": [
                {
                    "partition": a.partition,
                    "begin": a.begin,
                    "end": a.end,
                    "head_sequence": a.head_sequence,
                    "checkpoint_sequence": a.checkpoint_sequence,
                    "checkpoint_at": _iso(a.checkpoint_at),
                    "checkpoint_age_s": a.checkpoint_age_s,
                    "checkpoint_valid": a.checkpoint_valid,
                    "unsigned": a.unsigned,
                    "problems": list(a.problems),
                }
                for a in self.audit
            ],
            "audit_ok": self.audit_ok,
            "policy_version": self.policy_version,
            "policy_versions": [
                {"version": v.version, "records": v.records, "last_seen": v.last_seen.isoformat()}
                for v in self.policy_versions
            ],
            "audit_read_from": _iso(self.audit_read_from),
            "notes": list(self.notes),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
