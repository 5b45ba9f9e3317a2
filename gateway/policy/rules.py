"""The decision rules' stable ids and their plain-English reasons.

Rule ids appear in replies, audit records and dashboards, so they never change meaning. Denial
rules are listed in the order :func:`gateway.policy.decide` evaluates them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from functools import lru_cache

from gateway.envelope.models import Reason

__all__ = [
    "Rule",
    "agreement_allows",
    "agreement_expired",
    "agreement_not_yet_valid",
    "agreement_parties",
    "agreement_status",
    "agreement_unknown",
    "evaluation_error",
    "fields_none_allowed",
    "no_subject_identifier",
    "purpose_not_allowed",
    "purpose_prohibited",
    "query_minimised",
    "requester_mismatch",
]


class Rule(StrEnum):
    """Every reason code a policy decision can carry."""

    REQUESTER_MISMATCH = "identity.requester_mismatch"
    AGREEMENT_UNKNOWN = "agreement.unknown"
    AGREEMENT_PARTIES = "agreement.parties"
    PURPOSE_PROHIBITED = "purpose.prohibited"
    AGREEMENT_STATUS = "agreement.status"
    AGREEMENT_NOT_YET_VALID = "agreement.not_yet_valid"
    AGREEMENT_EXPIRED = "agreement.expired"
    PURPOSE_NOT_ALLOWED = "purpose.not_allowed"
    NO_SUBJECT_IDENTIFIER = "request.no_subject_identifier"
    FIELDS_NONE_ALLOWED = "fields.none_allowed"
    EVALUATION_ERROR = "policy.evaluation_error"
    """Evaluation itself failed; the request is denied (fail closed)."""
    AGREEMENT_ALLOWS = "agreement.allows"
    """Approval: the agreement allows this purpose between these parties."""
    QUERY_MINIMISED = "request.minimised"
    """Approval note: query fields the purpose does not need were removed."""


def _reason(rule: Rule, message: str) -> Reason:
    return Reason(code=rule.value, message=message)


def requester_mismatch(sender: str, claimed: str) -> Reason:
    return _reason(
        Rule.REQUESTER_MISMATCH,
        f"A request from {sender} must name {sender} as its requester, not {claimed}: "
        "a department can only act as itself.",
    )


def agreement_unknown(agreement_id: str) -> Reason:
    return _reason(Rule.AGREEMENT_UNKNOWN, f"There is no data-sharing agreement '{agreement_id}'.")


def agreement_parties(
    agreement_id: str, parties: tuple[str, str], requester: str, provider: str
) -> Reason:
    return _reason(
        Rule.AGREEMENT_PARTIES,
        f"Agreement '{agreement_id}' lets {parties[0]} ask {parties[1]}; "
        f"it does not cover {requester} asking {provider}.",
    )


def purpose_prohibited(agreement_id: str, purpose: str, why: str) -> Reason:
    return _reason(
        Rule.PURPOSE_PROHIBITED,
        f"Agreement '{agreement_id}' prohibits the purpose '{purpose}': {why}",
    )


def agreement_status(agreement_id: str, status: str) -> Reason:
    if status == "suspended":
        text = f"Agreement '{agreement_id}' is suspended: nothing may be shared under it for now."
    else:
        text = f"Agreement '{agreement_id}' has {status}: nothing may be shared under it."
    return _reason(Rule.AGREEMENT_STATUS, text)


def agreement_not_yet_valid(agreement_id: str, valid_from: date) -> Reason:
    return _reason(
        Rule.AGREEMENT_NOT_YET_VALID,
        f"Agreement '{agreement_id}' is not in force until {valid_from.isoformat()}.",
    )


def agreement_expired(agreement_id: str, valid_until: date) -> Reason:
    return _reason(
        Rule.AGREEMENT_EXPIRED,
        f"Agreement '{agreement_id}' expired: it was valid until {valid_until.isoformat()}.",
    )


def purpose_not_allowed(agreement_id: str, purpose: str, allowed: Iterable[str]) -> Reason:
    listed = ", ".join(allowed) or "none"
    return _reason(
        Rule.PURPOSE_NOT_ALLOWED,
        f"Agreement '{agreement_id}' does not allow the purpose '{purpose}' "
        f"(purposes it allows: {listed}).",
    )


def no_subject_identifier(purpose: str, identifiers: Iterable[str]) -> Reason:
    return _reason(
        Rule.NO_SUBJECT_IDENTIFIER,
        f"The query identifies no subject: purpose '{purpose}' needs at least one of "
        f"{', '.join(identifiers)}.",
    )


def fields_none_allowed(agreement_id: str, purpose: str) -> Reason:
    return _reason(
        Rule.FIELDS_NONE_ALLOWED,
        f"None of the fields asked for may be released for purpose '{purpose}' "
        f"under agreement '{agreement_id}'.",
    )


def evaluation_error(error: BaseException) -> Reason:
    return _reason(
        Rule.EVALUATION_ERROR,
        f"The policy could not be evaluated ({type(error).__name__}), so the request is denied.",
    )


def agreement_allows(agreement_id: str, purpose: str, requester: str, provider: str) -> Reason:
    return _reason(
        Rule.AGREEMENT_ALLOWS,
        f"Agreement '{agreement_id}' allows {requester} to ask {provider} for data "
        f"for the purpose '{purpose}'.",
    )


@lru_cache(maxsize=1024)
def query_minimised(removed: tuple[str, ...]) -> Reason:
    """Cached: the same fields are removed from many requests, and approvals must be fast."""
    return _reason(
        Rule.QUERY_MINIMISED,
        f"Query fields this purpose does not need were removed: {', '.join(removed)}.",
    )
