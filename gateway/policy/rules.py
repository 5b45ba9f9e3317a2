"""The decision rules' stable ids and their plain-English reasons.

Rule ids appear in replies, audit records and dashboards, so they never change meaning. Denial
rules are listed in the order :func:`gateway.policy.decide` evaluates them; the ``subject.*``
rules are judged later, on the provider's record, before anything is released.
"""

from __future__ import annotations

from datetime import date, timedelta
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
    "cap_daily",
    "cap_hourly",
    "cap_unchecked",
    "evaluation_error",
    "fields_none_allowed",
    "no_subject_identifier",
    "prohibition_global",
    "purpose_not_allowed",
    "purpose_prohibited",
    "query_minimised",
    "requester_mismatch",
    "sent_at_ahead",
    "sent_at_stale",
    "subject_age_unknown",
    "subject_child",
    "subject_too_old",
    "subject_too_young",
]


class Rule(StrEnum):
    """Every reason code a policy decision can carry."""

    REQUESTER_MISMATCH = "identity.requester_mismatch"
    SENT_AT_AHEAD = "request.sent_at_ahead"
    """The request says it was sent later than the gateway received it, by more than allowed."""
    SENT_AT_STALE = "request.sent_at_stale"
    """The request says it was sent longer before the gateway received it than allowed."""
    AGREEMENT_UNKNOWN = "agreement.unknown"
    AGREEMENT_PARTIES = "agreement.parties"
    PURPOSE_PROHIBITED = "purpose.prohibited"
    PROHIBITION_GLOBAL = "prohibition.global"
    """A prohibition in ``global.yaml`` covers these parties and this purpose's category."""
    AGREEMENT_STATUS = "agreement.status"
    AGREEMENT_NOT_YET_VALID = "agreement.not_yet_valid"
    AGREEMENT_EXPIRED = "agreement.expired"
    PURPOSE_NOT_ALLOWED = "purpose.not_allowed"
    NO_SUBJECT_IDENTIFIER = "request.no_subject_identifier"
    FIELDS_NONE_ALLOWED = "fields.none_allowed"
    CAP_HOURLY = "cap.hourly"
    CAP_DAILY = "cap.daily"
    CAP_UNCHECKED = "cap.unchecked"
    """The purpose has caps but no volume counter was given, so they cannot be checked."""
    EVALUATION_ERROR = "policy.evaluation_error"
    """Evaluation itself failed; the request is denied (fail closed)."""
    AGREEMENT_ALLOWS = "agreement.allows"
    """Approval: the agreement allows this purpose between these parties."""
    QUERY_MINIMISED = "request.minimised"
    """Approval note: query fields the purpose does not need were removed."""
    SUBJECT_CHILD = "subject.child"
    """Response: the subject is under 18 and the purpose does not allow children's records."""
    SUBJECT_MIN_AGE = "subject.min_age"
    SUBJECT_MAX_AGE = "subject.max_age"
    SUBJECT_AGE_UNKNOWN = "subject.age_unknown"


_cached = lru_cache(maxsize=4096)
"""Reasons are immutable and most decisions give the same few, so each is built once; the
bound keeps ids a requester makes up (unknown agreements, say) from growing the cache."""


def _reason(rule: Rule, message: str) -> Reason:
    return Reason(code=rule.value, message=message)


@_cached
def requester_mismatch(sender: str, claimed: str) -> Reason:
    return _reason(
        Rule.REQUESTER_MISMATCH,
        f"A request from {sender} must name {sender} as its requester, not {claimed}: "
        "a department can only act as itself.",
    )


def sent_at_ahead(offset: timedelta, limit: timedelta) -> Reason:
    return _reason(
        Rule.SENT_AT_AHEAD,
        f"The request's sent_at is {_span(offset)} after the gateway received it; at most "
        f"{_span(limit)} is allowed, so the sender's clock is wrong and the request is refused.",
    )


def sent_at_stale(offset: timedelta, limit: timedelta) -> Reason:
    return _reason(
        Rule.SENT_AT_STALE,
        f"The request's sent_at is {_span(offset)} before the gateway received it; requests "
        f"older than {_span(limit)} are refused. Send it again if it is still needed.",
    )


def _span(span: timedelta) -> str:
    """A duration to the second, as plain words (``2 h 5 min 3 s``)."""
    seconds = int(span.total_seconds())
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")]
    return " ".join(f"{n} {unit}" for n, unit in parts if n) or "0 s"


@_cached
def agreement_unknown(agreement_id: str) -> Reason:
    return _reason(Rule.AGREEMENT_UNKNOWN, f"There is no data-sharing agreement '{agreement_id}'.")


@_cached
def agreement_parties(
    agreement_id: str, parties: tuple[str, str], requester: str, provider: str
) -> Reason:
    return _reason(
        Rule.AGREEMENT_PARTIES,
        f"Agreement '{agreement_id}' lets {parties[0]} ask {parties[1]}; "
        f"it does not cover {requester} asking {provider}.",
    )


@_cached
def purpose_prohibited(agreement_id: str, purpose: str, why: str) -> Reason:
    return _reason(
        Rule.PURPOSE_PROHIBITED,
        f"Agreement '{agreement_id}' prohibits the purpose '{purpose}': {why}",
    )


@_cached
def prohibition_global(prohibition_id: str, why: str) -> Reason:
    return _reason(
        Rule.PROHIBITION_GLOBAL,
        f"The global prohibition '{prohibition_id}' rules this out for every agreement: {why}",
    )


@_cached
def agreement_status(agreement_id: str, status: str) -> Reason:
    if status == "suspended":
        text = f"Agreement '{agreement_id}' is suspended: nothing may be shared under it for now."
    else:
        text = f"Agreement '{agreement_id}' has {status}: nothing may be shared under it."
    return _reason(Rule.AGREEMENT_STATUS, text)


@_cached
def agreement_not_yet_valid(agreement_id: str, valid_from: date) -> Reason:
    return _reason(
        Rule.AGREEMENT_NOT_YET_VALID,
        f"Agreement '{agreement_id}' is not in force until {valid_from.isoformat()}.",
    )


@_cached
def agreement_expired(agreement_id: str, valid_until: date) -> Reason:
    return _reason(
        Rule.AGREEMENT_EXPIRED,
        f"Agreement '{agreement_id}' expired: it was valid until {valid_until.isoformat()}.",
    )


@_cached
def purpose_not_allowed(agreement_id: str, purpose: str, allowed: tuple[str, ...]) -> Reason:
    listed = ", ".join(allowed) or "none"
    return _reason(
        Rule.PURPOSE_NOT_ALLOWED,
        f"Agreement '{agreement_id}' does not allow the purpose '{purpose}' "
        f"(purposes it allows: {listed}).",
    )


@_cached
def no_subject_identifier(purpose: str, identifiers: tuple[str, ...]) -> Reason:
    return _reason(
        Rule.NO_SUBJECT_IDENTIFIER,
        f"The query identifies no subject: purpose '{purpose}' needs at least one of "
        f"{', '.join(identifiers)}.",
    )


@_cached
def fields_none_allowed(agreement_id: str, purpose: str) -> Reason:
    return _reason(
        Rule.FIELDS_NONE_ALLOWED,
        f"None of the fields asked for may be released for purpose '{purpose}' "
        f"under agreement '{agreement_id}'.",
    )


@_cached
def cap_hourly(purpose: str, requester: str, limit: int) -> Reason:
    return _reason(
        Rule.CAP_HOURLY,
        f"{requester} has had {limit} request(s) approved for '{purpose}' this hour (UTC), "
        "the most the agreement allows.",
    )


@_cached
def cap_daily(purpose: str, requester: str, limit: int) -> Reason:
    return _reason(
        Rule.CAP_DAILY,
        f"{requester} has had {limit} request(s) approved for '{purpose}' today (UTC), "
        "the most the agreement allows.",
    )


@_cached
def cap_unchecked(purpose: str) -> Reason:
    return _reason(
        Rule.CAP_UNCHECKED,
        f"Purpose '{purpose}' has volume caps, but no volume count was available to check "
        "them, so the request is denied.",
    )


def evaluation_error(error: BaseException) -> Reason:
    return _reason(
        Rule.EVALUATION_ERROR,
        f"The policy could not be evaluated ({type(error).__name__}), so the request is denied.",
    )


@_cached
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


@_cached
def subject_child(agreement_id: str, purpose: str) -> Reason:
    return _reason(
        Rule.SUBJECT_CHILD,
        f"The record is withheld: the subject is under 18, and purpose '{purpose}' of agreement "
        f"'{agreement_id}' does not allow children's records.",
    )


@_cached
def subject_too_young(purpose: str, min_age: int) -> Reason:
    return _reason(
        Rule.SUBJECT_MIN_AGE,
        f"The record is withheld: purpose '{purpose}' covers subjects aged {min_age} or over.",
    )


@_cached
def subject_too_old(purpose: str, max_age: int) -> Reason:
    return _reason(
        Rule.SUBJECT_MAX_AGE,
        f"The record is withheld: purpose '{purpose}' covers subjects aged {max_age} or under.",
    )


@_cached
def subject_age_unknown(purpose: str) -> Reason:
    return _reason(
        Rule.SUBJECT_AGE_UNKNOWN,
        f"The record is withheld: purpose '{purpose}' limits the subject's age, and the record "
        "has no readable date of birth.",
    )
