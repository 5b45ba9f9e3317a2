"""The pure policy decision: may this request be routed, and with what?

Default deny: a request is approved only when an agreement in force between exactly these
parties allows its purpose, nothing prohibits it (the agreement or a global prohibition) and the
requester is within the purpose's volume caps. Every applicable denial reason is collected, in
the order of :class:`~gateway.policy.rules.Rule`; caps are only consulted for a request that
would otherwise be approved. Evaluation that fails for any reason denies (fail closed) with
``policy.evaluation_error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.envelope.models import AuditOutcome, ExchangeRequest, Reason
from gateway.policy import rules
from gateway.policy.caps import CapKey, VolumeCounter
from gateway.policy.clock import SentAtWindow, utc_day
from gateway.policy.compiler import CompiledPolicy, CompiledPurpose
from gateway.policy.model import AgreementStatus
from gateway.redaction.paths import EMPTY_PATHS, PathSet
from gateway.redaction.pipeline import minimise_query

__all__ = ["Decision", "decide"]

# Enum members bound once: attribute access on an enum class is slow next to a decision's budget.
_ACTIVE = AgreementStatus.ACTIVE
_APPROVED = AuditOutcome.APPROVED
_APPROVED_MINIMISED = AuditOutcome.APPROVED_MINIMISED
_DENIED = AuditOutcome.DENIED


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one request, explained; names fields, never carries their values."""

    allowed: bool
    outcome: AuditOutcome
    """APPROVED, APPROVED_MINIMISED (query fields were removed) or DENIED."""
    reasons: tuple[Reason, ...]
    agreement_id: str
    purpose: str
    query: dict[str, str]
    """The query with fields the purpose may not send removed (empty if the purpose is unknown)."""
    removed_query_fields: tuple[str, ...]
    response_fields: tuple[str, ...]
    """What the provider may return: the purpose's allow-list narrowed by ``wanted``."""
    response_paths: PathSet
    """``response_fields`` compiled for :func:`gateway.redaction.redact`."""
    subject_fields: tuple[str, ...]
    """The identifier fields present in the query, to compute the subject key from."""
    policy_version: str
    cap_key: CapKey | None = None
    """Set on an approval under a capped purpose: record it in the volume counter."""


def decide(
    policy: CompiledPolicy,
    request: ExchangeRequest,
    *,
    sender: str,
    now: datetime,
    volume: VolumeCounter | None = None,
    sent_at_window: SentAtWindow | None = None,
) -> Decision:
    """Decide ``request``, received from department ``sender`` at ``now`` (timezone-aware), by
    the clock rule of :mod:`gateway.policy.clock`: validity dates are UTC days of ``now``.

    ``volume`` is read, never written, to check caps; a capped purpose without one is denied.
    With ``sent_at_window``, a ``sent_at`` outside it denies (the gateway always gives one).
    """
    try:
        return _evaluate(policy, request, sender, now, volume, sent_at_window)
    except Exception as exc:  # fail closed: an evaluation error must deny, never approve
        return _denied(policy, request, [rules.evaluation_error(exc)])


def _evaluate(
    policy: CompiledPolicy,
    request: ExchangeRequest,
    sender: str,
    now: datetime,
    volume: VolumeCounter | None,
    sent_at_window: SentAtWindow | None,
) -> Decision:
    today = utc_day(now)
    reasons: list[Reason] = []
    if sender != request.requester:
        reasons.append(rules.requester_mismatch(sender, request.requester))
    if sent_at_window is not None:
        late = sent_at_window.problem(request.sent_at, now)
        if late is not None:
            reasons.append(late)

    agreement = policy.agreement(request.agreement_id)
    if agreement is None:
        reasons.append(rules.agreement_unknown(request.agreement_id))
        return _denied(policy, request, reasons)
    if request.requester != agreement.requester or request.provider != agreement.provider:
        parties = (agreement.requester, agreement.provider)
        reasons.append(
            rules.agreement_parties(agreement.id, parties, request.requester, request.provider)
        )
    prohibition = agreement.prohibited.get(request.purpose)
    if prohibition is not None:
        reasons.append(rules.purpose_prohibited(agreement.id, request.purpose, prohibition))
    purpose = policy.purpose(agreement.id, request.purpose)
    globally = purpose.prohibited_globally if purpose is not None else agreement.prohibited_globally
    if globally:
        reasons.extend(globally)
    if agreement.status is not _ACTIVE:
        reasons.append(rules.agreement_status(agreement.id, agreement.status.value))
    if today < agreement.valid_from:
        reasons.append(rules.agreement_not_yet_valid(agreement.id, agreement.valid_from))
    if agreement.valid_until is not None and today > agreement.valid_until:
        reasons.append(rules.agreement_expired(agreement.id, agreement.valid_until))

    if purpose is None:
        if prohibition is None:  # a prohibition already says more than "not allowed"
            reasons.append(
                rules.purpose_not_allowed(agreement.id, request.purpose, tuple(agreement.purposes))
            )
        return _denied(policy, request, reasons)

    query, removed = minimise_query(request.query, purpose.request_fields)
    subject_fields = tuple([n for n in purpose.subject_identifiers if query.get(n, "").strip()])
    if not subject_fields:
        reasons.append(rules.no_subject_identifier(purpose.id, purpose.subject_identifiers))
    paths = purpose.response_paths
    if request.wanted:
        paths = paths.narrow(request.wanted)
    if not paths.paths:
        reasons.append(rules.fields_none_allowed(agreement.id, purpose.id))
    if reasons:
        return _denied(policy, request, reasons, query, removed, subject_fields)
    cap_key: CapKey | None = None
    if purpose.caps is not None:
        cap_key = (agreement.id, purpose.id, request.requester)
        reasons = _over_cap(purpose, cap_key, volume, now)
        if reasons:
            return _denied(policy, request, reasons, query, removed, subject_fields)

    if removed:
        outcome = _APPROVED_MINIMISED
        approval: tuple[Reason, ...] = (purpose.approval, rules.query_minimised(removed))
    else:
        outcome = _APPROVED
        approval = (purpose.approval,)
    return Decision(
        allowed=True,
        outcome=outcome,
        reasons=approval,
        agreement_id=request.agreement_id,
        purpose=request.purpose,
        query=query,
        removed_query_fields=removed,
        response_fields=paths.paths,
        response_paths=paths,
        subject_fields=subject_fields,
        policy_version=policy.version,
        cap_key=cap_key,
    )


def _over_cap(
    purpose: CompiledPurpose, key: CapKey, volume: VolumeCounter | None, now: datetime
) -> list[Reason]:
    """The cap reasons that deny one more approval for ``key`` now (none if within caps)."""
    caps = purpose.caps
    assert caps is not None
    if volume is None:
        return [rules.cap_unchecked(purpose.id)]
    hour, day = volume.usage(key, now)
    reasons = []
    if caps.per_hour is not None and hour >= caps.per_hour:
        reasons.append(rules.cap_hourly(purpose.id, key[2], caps.per_hour))
    if caps.per_day is not None and day >= caps.per_day:
        reasons.append(rules.cap_daily(purpose.id, key[2], caps.per_day))
    return reasons


def _denied(
    policy: CompiledPolicy,
    request: ExchangeRequest,
    reasons: list[Reason],
    query: dict[str, str] | None = None,
    removed: tuple[str, ...] = (),
    subject_fields: tuple[str, ...] = (),
) -> Decision:
    """A denial: it releases nothing, whatever was computed before the rule that denied."""
    return Decision(
        allowed=False,
        outcome=_DENIED,
        reasons=tuple(reasons),
        agreement_id=_text(request, "agreement_id"),
        purpose=_text(request, "purpose"),
        query=query if query is not None else {},
        removed_query_fields=removed,
        response_fields=(),
        response_paths=EMPTY_PATHS,
        subject_fields=subject_fields,
        policy_version=_text(policy, "version"),
    )


def _text(obj: object, attribute: str) -> str:
    """An attribute as text, or "" if even that fails (denials must not raise)."""
    try:
        return str(getattr(obj, attribute))
    except Exception:
        return ""
