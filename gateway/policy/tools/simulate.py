"""Replay recorded request decisions under a candidate policy and report those that change.

A decision changes when its outcome does, or the fields it touches do: the query fields sent to
the provider, and the response fields the reply released, transformed or withheld. Response
fields come from the reply's own audit record (which names every field the provider sent), so
they are compared only for requests whose reply was recorded; the report counts the others.

Audit records carry field names, never values, and decisions depend only on names: each
request-stage record is rebuilt into a request skeleton (the query fields it named, with
placeholder values; the response fields it asked for) and decided again at its recorded time.
Requests are replayed in time order with a fresh volume counter, so caps apply as they would
have. A denial records no query fields it kept; when the denial was not for a missing identifier,
the replay assumes the request carried the purpose's first subject identifier, and says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage, ExchangeRequest
from gateway.policy.caps import InMemoryVolumeCounter
from gateway.policy.clock import DEFAULT_SENT_AT_WINDOW, SentAtWindow
from gateway.policy.compiler import CompiledPolicy
from gateway.policy.decision import Decision, decide
from gateway.policy.rules import Rule
from gateway.policy.tools._fates import NOTHING, Fates, candidate_fates, recorded_fates
from gateway.policy.tools.explain import PLACEHOLDER
from gateway.policy.tools.simulate_report import DecisionChange, SimulationReport

__all__ = ["DecisionChange", "SimulationReport", "simulate"]

_DECISIONS = frozenset(
    {AuditOutcome.APPROVED, AuditOutcome.APPROVED_MINIMISED, AuditOutcome.DENIED}
)
_REPLIES = frozenset({AuditOutcome.RELEASED, AuditOutcome.REDACTED})
_NO_IDENTIFIER = Rule.NO_SUBJECT_IDENTIFIER.value
_Key = tuple[str | None, str | None]


def simulate(
    policy: CompiledPolicy,
    records: Iterable[AuditRecord],
    *,
    sent_at_window: SentAtWindow = DEFAULT_SENT_AT_WINDOW,
) -> SimulationReport:
    """Decide every recorded request decision in ``records`` again under ``policy``, at the
    time the gateway received it (its ``at``) and with the ``sent_at`` it recorded."""
    read = 0
    replayable: list[AuditRecord] = []
    replies: dict[_Key, AuditRecord] = {}
    for record in records:
        read += 1
        if _replayable(record):
            replayable.append(record)
        elif record.stage is AuditStage.RESPONSE and record.outcome in _REPLIES:
            replies[(record.requester, record.request_id)] = record
    replayable.sort(key=lambda r: r.at)
    volume = InMemoryVolumeCounter()
    changes: list[DecisionChange] = []
    not_rebuilt = unanswered = 0
    for record in replayable:
        try:
            request, assumed = request_skeleton(record, policy)
        except ValidationError:
            not_rebuilt += 1
            continue
        decision = decide(
            policy,
            request,
            sender=_sender(record),
            now=record.at,
            volume=volume,
            sent_at_window=sent_at_window,
        )
        if decision.cap_key is not None:
            volume.record(decision.cap_key, record.at)
        reply = replies.get((record.requester, record.request_id))
        if reply is None and record.outcome is not AuditOutcome.DENIED and decision.allowed:
            unanswered += 1
        change = _compare(policy, record, decision, reply, assumed)
        if change is not None:
            changes.append(change)
    replayed = len(replayable) - not_rebuilt
    return SimulationReport(policy.version, read, replayed, tuple(changes), not_rebuilt, unanswered)


def _compare(
    policy: CompiledPolicy,
    record: AuditRecord,
    decision: Decision,
    reply: AuditRecord | None,
    assumed: bool,
) -> DecisionChange | None:
    """The change from the recorded decision (and its reply) to ``decision``, if any."""
    was_sent = set(record.fields_released) if record.outcome is not AuditOutcome.DENIED else set()
    now_sent = set(decision.query) if decision.allowed else set()
    before = recorded_fates(reply) if reply is not None else NOTHING
    after = _candidate_reply(policy, decision, before) if reply is not None else NOTHING
    change = DecisionChange(
        request_id=record.request_id or record.decision_id,
        at=record.at.isoformat(),
        requester=record.requester or _sender(record),
        provider=record.provider or "",
        agreement_id=decision.agreement_id or record.agreement_id or "",
        purpose=decision.purpose or record.purpose or "",
        before=record.outcome.value,
        after=decision.outcome.value,
        reasons=decision.reasons,
        query_assumed=assumed,
        released=tuple(sorted(after.released - before.released)),
        withheld=tuple(sorted(before.released - after.released)),
        transformed=tuple(sorted(after.transformed - before.transformed)),
        untransformed=tuple(sorted(before.transformed - after.transformed)),
        sent=tuple(sorted(now_sent - was_sent)),
        unsent=tuple(sorted(was_sent - now_sent)),
    )
    if change.before == change.after and not change.fields():
        return None
    return change


def _candidate_reply(policy: CompiledPolicy, decision: Decision, recorded: Fates) -> Fates:
    """The fates of the recorded reply's fields had the candidate decided its request."""
    purpose = policy.purpose(decision.agreement_id, decision.purpose)
    if not decision.allowed or purpose is None:
        return Fates(frozenset(), frozenset(), recorded.names)
    return candidate_fates(recorded.names, decision.response_paths, purpose.transforms)


def request_skeleton(record: AuditRecord, policy: CompiledPolicy) -> tuple[ExchangeRequest, bool]:
    """The request a request-stage record decided, with placeholder values; and whether a
    subject identifier had to be assumed (see the module notes)."""
    names = set(record.fields_released) | set(record.fields_withheld)
    assumed = False
    codes = {r.code for r in record.reasons}
    if record.outcome is AuditOutcome.DENIED and _NO_IDENTIFIER not in codes:
        purpose = policy.purpose(record.agreement_id or "", record.purpose or "")
        if purpose is not None and not names & set(purpose.subject_identifiers):
            names.add(purpose.subject_identifiers[0])
            assumed = True
    request = ExchangeRequest(
        request_id=record.request_id or record.decision_id,
        requester=record.requester or _sender(record),
        provider=record.provider or "",
        agreement_id=record.agreement_id or "",
        purpose=record.purpose or "",
        query={name: PLACEHOLDER for name in sorted(names)},
        wanted=list(record.fields_requested),
        sent_at=record.at if record.sent_at is None else record.sent_at,
    )
    return request, assumed


def _replayable(record: AuditRecord) -> bool:
    return (
        record.stage is AuditStage.REQUEST
        and record.outcome in _DECISIONS
        and record.agreement_id is not None
        and record.purpose is not None
    )


def _sender(record: AuditRecord) -> str:
    """The department whose request topic the request arrived on (``<prefix>.requests.<d>``)."""
    parts = record.input_topic.split(".")
    if len(parts) >= 3 and parts[-2] == "requests":
        return parts[-1]
    return record.requester or ""
