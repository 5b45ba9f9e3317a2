"""The pure policy decision: may this request be routed, and with what?

Default deny: a request is approved only when an agreement in force between exactly these
parties allows its purpose and nothing prohibits it. Every applicable denial reason is
collected, in the order of :class:`~gateway.policy.rules.Rule`. Evaluation that fails for any
reason denies (fail closed) with ``policy.evaluation_error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.envelope.models import AuditOutcome, ExchangeRequest, Reason
from gateway.policy import rules
from gateway.policy.compiler import CompiledPolicy
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


def decide(
    policy: CompiledPolicy, request: ExchangeRequest, *, sender: str, now: datetime
) -> Decision:
    """Decide ``request``, received from department ``sender`` at ``now`` (timezone-aware)."""
    try:
        return _evaluate(policy, request, sender, now)
    except Exception as exc:  # fail closed: an evaluation error must deny, never approve
        return _denied(policy, request, [rules.evaluation_error(exc)])


def _evaluate(
    policy: CompiledPolicy, request: ExchangeRequest, sender: str, now: datetime
) -> Decision:
    if now.utcoffset() is None:
        raise ValueError("decisions need a timezone-aware time")
    reasons: list[Reason] = []
    if sender != request.requester:
        reasons.append(rules.requester_mismatch(sender, request.requester))

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
    if agreement.status is not _ACTIVE:
        reasons.append(rules.agreement_status(agreement.id, agreement.status.value))
    today = now.date()
    if today < agreement.valid_from:
        reasons.append(rules.agreement_not_yet_valid(agreement.id, agreement.valid_from))
    if agreement.valid_until is not None and today > agreement.valid_until:
        reasons.append(rules.agreement_expired(agreement.id, agreement.valid_until))

    purpose = policy.purpose(agreement.id, request.purpose)
    if purpose is None:
        if prohibition is None:  # a prohibition already says more than "not allowed"
            reasons.append(
                rules.purpose_not_allowed(agreement.id, request.purpose, agreement.purposes)
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
    )


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
