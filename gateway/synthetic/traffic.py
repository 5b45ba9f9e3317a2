"""Requester traffic over the shipped agreements: mostly valid requests, plus the mistakes and
abuses the gateway must refuse or trim.

Planning is pure (:func:`plan_requests`, no broker); :mod:`gateway.departments.traffic` sends a
plan and counts what came back. Valid requests name subjects from the same synthetic datasets the
reference departments serve (:mod:`gateway.synthetic.datasets`, same size and seed), so most of
them are answered FOUND.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from gateway.synthetic.datasets import DEFAULT_SEED, DEFAULT_SIZE, generate

__all__ = [
    "MIX",
    "PlannedRequest",
    "RequestKind",
    "plan_requests",
]


class RequestKind(enum.StrEnum):
    VALID = "valid"
    """A purpose the agreement allows, with allowed fields, for a subject the provider holds."""
    UNKNOWN_SUBJECT = "unknown-subject"
    """Valid, but the provider holds no record of the subject: answered NOT_FOUND."""
    WRONG_PURPOSE = "wrong-purpose"
    """A purpose the named agreement does not list: denied."""
    EXPIRED_AGREEMENT = "expired-agreement"
    """Under the ended DWP interview pilot: denied."""
    PROHIBITED_PURPOSE = "prohibited-purpose"
    """A purpose an agreement rules out: denied with the agreement's reason."""
    EXTRA_QUERY_FIELDS = "extra-query-fields"
    """Sends fields the purpose does not need: routed with them removed."""
    WANTED_NOT_ALLOWED = "wanted-not-allowed"
    """Asks for fields the purpose does not allow beside allowed ones: routed, narrowed."""


MIX: Mapping[RequestKind, float] = {
    RequestKind.VALID: 0.70,
    RequestKind.UNKNOWN_SUBJECT: 0.05,
    RequestKind.WRONG_PURPOSE: 0.05,
    RequestKind.EXPIRED_AGREEMENT: 0.04,
    RequestKind.PROHIBITED_PURPOSE: 0.04,
    RequestKind.EXTRA_QUERY_FIELDS: 0.06,
    RequestKind.WANTED_NOT_ALLOWED: 0.06,
}
"""Share of each kind in a plan; :func:`plan_requests` hits these counts exactly (rounded)."""

_DENIED_KINDS = frozenset(
    {RequestKind.WRONG_PURPOSE, RequestKind.EXPIRED_AGREEMENT, RequestKind.PROHIBITED_PURPOSE}
)


@dataclass(frozen=True, slots=True)
class _Purpose:
    """What a shipped agreement lets one purpose send and receive (mirrors ``policies/``)."""

    agreement_id: str
    requester: str
    provider: str
    purpose: str
    identifiers: tuple[str, ...]
    request_fields: tuple[str, ...]
    response_fields: tuple[str, ...]
    weight: int
    """Relative volume among valid requests."""


_PURPOSES = (
    _Purpose(
        "rtw-ho-status-check", "rtw", "ho", "right-to-work", ("person_id",),
        ("person_id", "date_of_birth"), ("conditions.right_to_work",), 28,
    ),
    _Purpose(
        "rtw-ho-status-check", "rtw", "ho", "right-to-rent", ("person_id",),
        ("person_id", "date_of_birth"), ("conditions.right_to_rent",), 17,
    ),
    _Purpose(
        "nhs-ho-status-check", "nhs", "ho", "overseas-visitor-charging",
        ("person_id", "case_reference"),
        ("person_id", "case_reference", "surname", "forenames", "date_of_birth", "nationality"),
        ("immigration_status", "leave_expiry", "conditions.immigration_health_surcharge_paid"),
        20,
    ),
    _Purpose(
        "ho-hmrc-shared-houses", "ho", "hmrc", "identify-shared-houses", ("nino",),
        ("nino", "surname", "forenames", "date_of_birth"),
        ("properties[].uprn", "properties[].address.postcode",
         "properties[].occupants_declared", "employments[].employer_name"),
        15,
    ),
    _Purpose(
        "ho-dfe-school-census", "ho", "dfe", "locate-immigration-offender", ("upn",),
        ("upn", "surname", "forenames", "date_of_birth"),
        ("home_address", "school_name", "school_urn"), 10,
    ),
    _Purpose(
        "ho-nhs-debtor-reporting", "ho", "nhs", "immigration-application-debt-check",
        ("nhs_number",), ("nhs_number", "surname", "date_of_birth"),
        ("outstanding_debt_gbp", "debt_first_incurred"), 10,
    ),
)  # fmt: skip
_EXPIRED = _Purpose(
    "dwp-ho-interview-pilot", "ho", "dwp", "arrange-interview", ("nino",),
    ("nino", "surname", "date_of_birth"), ("address", "claim_status", "next_interview"), 0,
)  # fmt: skip
_PROHIBITED = (  # agreement, the purpose it rules out, and its provider
    ("ho-dfe-school-census", "nationality-data-collection", "dfe"),
    ("ho-hmrc-shared-houses", "income-profiling", "hmrc"),
    ("ho-nhs-tracing-withdrawn", "immigration-enforcement-tracing", "nhs"),
)
_UNKNOWN_SPREAD = 50
"""Unknown subjects are drawn from this many records just past the end of a dataset."""
_WITHHELD_FIELDS = {  # fields a requester may be tempted to ask for, never allowed
    "ho": ("address", "nationality", "case_reference", "conditions.right_to_rent"),
    "hmrc": ("employments[].annual_pay_gbp", "properties[].rental_income_gbp", "address"),
    "dfe": ("nationality", "country_of_birth", "ethnicity", "sen_provision"),
    "nhs": ("treatment_summary", "address", "gp_practice_code"),
}
_EXTRA_QUERY = ("postcode", "phone_number", "nationality", "email", "employer_name")


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    """One request to send, and what the gateway should do with it."""

    kind: RequestKind
    requester: str
    provider: str
    agreement_id: str
    purpose: str
    query: Mapping[str, str]
    wanted: tuple[str, ...] = ()

    @property
    def expect_denied(self) -> bool:
        return self.kind in _DENIED_KINDS


def plan_requests(
    n: int,
    seed: int = DEFAULT_SEED,
    *,
    dataset_size: int = DEFAULT_SIZE,
    dataset_seed: int = DEFAULT_SEED,
    shapes: int | None = None,
) -> list[PlannedRequest]:
    """``n`` requests in :data:`MIX` proportions, shuffled; the same for the same arguments.

    Subjects come from ``generate(provider, dataset_size, dataset_seed)``; unknown subjects
    are records just past the end of that dataset, so they look as real as the others.
    Which optional query fields a request sends and which response fields it asks for are
    drawn afresh for each request, or, with ``shapes``, from that many fixed ways per kind and
    purpose: a department's systems send a handful of request shapes, not random subsets.
    """
    if n < 0:
        raise ValueError(f"n must not be negative, not {n}")
    if shapes is not None and shapes < 1:
        raise ValueError(f"shapes must be at least 1, not {shapes}")
    rng = random.Random(f"traffic:{seed}")
    kinds = [kind for kind, count in _counts(n).items() for _ in range(count)]
    rng.shuffle(kinds)
    return [_plan_one(kind, rng, dataset_size, dataset_seed, shapes) for kind in kinds]


def _counts(n: int) -> dict[RequestKind, int]:
    """Largest-remainder rounding of ``n * share``, so the counts always add up to ``n``."""
    exact = {kind: n * share for kind, share in MIX.items()}
    counts = {kind: int(value) for kind, value in exact.items()}
    by_remainder = sorted(MIX, key=lambda kind: (counts[kind] - exact[kind], list(MIX).index(kind)))
    for kind in by_remainder[: n - sum(counts.values())]:
        counts[kind] += 1
    return counts


@cache
def _dataset(provider: str, size: int, seed: int) -> tuple[dict[str, Any], ...]:
    return tuple(generate(provider, size, seed))


def _plan_one(
    kind: RequestKind, rng: random.Random, size: int, seed: int, shapes: int | None
) -> PlannedRequest:
    def shape_of(purpose: _Purpose) -> random.Random:
        """Where the request's shape is drawn from: ``rng``, or one of ``shapes`` fixed ways."""
        if shapes is None:
            return rng
        return random.Random(f"shape:{kind}:{purpose.purpose}:{rng.randrange(shapes)}")

    if kind is RequestKind.EXPIRED_AGREEMENT:
        subject = _subject(rng, "dwp", size, seed)
        return _request(kind, _EXPIRED, subject, shape_of(_EXPIRED))
    if kind is RequestKind.PROHIBITED_PURPOSE:
        agreement_id, purpose_id, provider = rng.choice(_PROHIBITED)
        # asked the way the Home Office asks this provider for an allowed purpose
        like = next(p for p in _PURPOSES if p.requester == "ho" and p.provider == provider)
        planned = _request(kind, like, _subject(rng, provider, size, seed), shape_of(like))
        return _replace(planned, agreement_id=agreement_id, purpose=purpose_id)
    purpose = rng.choices(_PURPOSES, [p.weight for p in _PURPOSES])[0]
    if kind is RequestKind.UNKNOWN_SUBJECT:
        beyond = _dataset(purpose.provider, size + _UNKNOWN_SPREAD, seed)[size:]
        return _request(kind, purpose, rng.choice(beyond), shape_of(purpose))
    shape = shape_of(purpose)
    planned = _request(kind, purpose, _subject(rng, purpose.provider, size, seed), shape)
    if kind is RequestKind.WRONG_PURPOSE:
        others = sorted({p.purpose for p in _PURPOSES if p.agreement_id != purpose.agreement_id})
        return _replace(planned, purpose=shape.choice(others))
    if kind is RequestKind.EXTRA_QUERY_FIELDS:
        extra = [f for f in _EXTRA_QUERY if f not in purpose.request_fields]
        query = dict(planned.query)
        for name in shape.sample(extra, shape.randint(1, 2)):
            query[name] = _extra_value(name, rng)
        return _replace(planned, query=query)
    if kind is RequestKind.WANTED_NOT_ALLOWED:
        fields = purpose.response_fields
        allowed = shape.sample(fields, shape.randint(1, len(fields)))
        withheld = shape.sample(_WITHHELD_FIELDS[purpose.provider], shape.randint(1, 2))
        return _replace(planned, wanted=tuple(allowed + withheld))
    return planned


def _subject(rng: random.Random, provider: str, size: int, seed: int) -> dict[str, Any]:
    return rng.choice(_dataset(provider, size, seed))


def _request(
    kind: RequestKind, purpose: _Purpose, record: Mapping[str, Any], shape: random.Random
) -> PlannedRequest:
    """A request for ``record``'s subject: an identifier, some matching fields, maybe a subset
    of the response fields (which ones drawn from ``shape``)."""
    identifier = purpose.identifiers[0]  # the one the providers' lookup uses
    query = {identifier: _text(record[identifier])}
    for name in purpose.request_fields:
        if name != identifier and shape.random() < 0.6:
            query[name] = _text(record[name])
    wanted: tuple[str, ...] = ()
    if len(purpose.response_fields) > 1 and shape.random() < 0.25:
        wanted = tuple(shape.sample(purpose.response_fields, len(purpose.response_fields) - 1))
    return PlannedRequest(
        kind=kind,
        requester=purpose.requester,
        provider=purpose.provider,
        agreement_id=purpose.agreement_id,
        purpose=purpose.purpose,
        query=query,
        wanted=wanted,
    )


def _replace(planned: PlannedRequest, **changes: Any) -> PlannedRequest:
    fields = {name: getattr(planned, name) for name in PlannedRequest.__dataclass_fields__}
    return PlannedRequest(**{**fields, **changes})


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _extra_value(name: str, rng: random.Random) -> str:
    return {
        "postcode": f"QA{rng.randint(1, 19)} {rng.randint(1, 9)}XY",
        "phone_number": f"07700 900{rng.randrange(1000):03d}",  # Ofcom's drama range
        "nationality": rng.choice(("POL", "IND", "NGA", "SYR")),
        "email": f"person{rng.randrange(10_000)}@example.org",
        "employer_name": "Northwind Logistics Ltd",
    }[name]
