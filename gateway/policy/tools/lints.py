"""Lints: agreements that load but deserve a compliance officer's attention.

Each lint has a stable code and points at the key it is about, so ``gateway policy check`` can
name the file and line. Lints compare names and dates, never personal data. Field paths missing
from a dataset are not lints: the compiler refuses them, and the check reports that as an error.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from gateway.policy.model import Agreement, AgreementStatus, Purpose
from gateway.redaction.transforms import TransformKind

__all__ = ["Lint", "LintContext", "lint_agreement"]

SOON = timedelta(days=30)
"""How far ahead an ending validity or a review counts as due soon."""

MATCHING_ATTRIBUTES = frozenset({"surname", "forenames", "date_of_birth"})
"""Attributes a provider may use to confirm it found the right person, besides the identifiers.
Any other request field is personal data the provider does not need to find the subject."""

_PLACEHOLDERS = frozenset({"tbc", "tbd", "todo", "na", "n/a", "none", "unknown", "-", "?", "xxx"})

Loc = tuple[int | str, ...]


@dataclass(frozen=True, slots=True)
class Lint:
    """One warning about one agreement: a stable code, the key it is about, plain text."""

    code: str
    loc: Loc
    message: str


@dataclass(frozen=True, slots=True)
class LintContext:
    """What lints compare agreements against."""

    today: date
    departments: Collection[str]


def lint_agreement(agreement: Agreement, ctx: LintContext) -> Iterator[Lint]:
    """Every lint that fires for ``agreement``, in the order of its keys."""
    yield from _parties(agreement, ctx)
    yield from _legal_basis(agreement)
    yield from _dates(agreement, ctx.today)
    for index, purpose in enumerate(agreement.purposes):
        yield from _purpose_fields(index, purpose)


def _parties(agreement: Agreement, ctx: LintContext) -> Iterator[Lint]:
    if agreement.requester not in ctx.departments:
        yield Lint(
            "parties.unknown_requester",
            ("requester",),
            f"'{agreement.requester}' is not a known department, so no department can use "
            "this agreement's purposes",
        )
    if agreement.provider not in ctx.departments:
        yield Lint(
            "parties.unknown_provider",
            ("provider",),
            f"'{agreement.provider}' is not a known department, so no request can reach it",
        )


def _legal_basis(agreement: Agreement) -> Iterator[Lint]:
    text = (agreement.legal_basis or "").strip()
    if not text:
        yield Lint("legal_basis.missing", ("legal_basis",), "no legal basis is given")
    elif text.lower().rstrip(".") in _PLACEHOLDERS:
        yield Lint(
            "legal_basis.missing",
            ("legal_basis",),
            f"the legal basis '{text}' is a placeholder, not the law relied on",
        )


def _dates(agreement: Agreement, today: date) -> Iterator[Lint]:
    if agreement.status is AgreementStatus.ENDED:
        return  # an ended agreement is kept only so that refusals say why
    until, review = agreement.valid_until, agreement.review_by
    if until is not None and until < today:
        if agreement.status is AgreementStatus.ACTIVE:
            yield Lint(
                "status.active_but_expired",
                ("status",),
                f"status is active but the agreement expired on {until.isoformat()}: "
                "requests are refused; set the status to ended or extend valid_until",
            )
        else:
            yield Lint(
                "dates.expired",
                ("valid_until",),
                f"expired on {until.isoformat()} while {agreement.status.value}; "
                "set the status to ended or extend valid_until",
            )
    elif until is not None and until <= today + SOON:
        yield Lint(
            "dates.ending_soon",
            ("valid_until",),
            f"ends on {until.isoformat()}, within {SOON.days} days",
        )
    if review is not None and review < today:
        yield Lint(
            "dates.review_overdue",
            ("review_by",),
            f"review was due by {review.isoformat()} and is overdue",
        )
    elif review is not None and review <= today + SOON:
        yield Lint(
            "dates.review_due_soon",
            ("review_by",),
            f"review is due by {review.isoformat()}, within {SOON.days} days",
        )


def _purpose_fields(index: int, purpose: Purpose) -> Iterator[Lint]:
    where = ("purposes", index)
    rules = purpose.response_fields
    for j, rule in enumerate(rules):
        wider = next((r.path for r in rules if _covers(r.path, rule.path)), None)
        if wider is not None and rule.transform.kind is TransformKind.KEEP:
            yield Lint(
                "fields.released_twice",
                (*where, "response_fields", j),
                f"purpose '{purpose.id}': '{rule.path}' is already released by '{wider}'",
            )
        if rule.transform.kind is TransformKind.PSEUDONYM:
            yield Lint(
                "transforms.needs_secret",
                (*where, "response_fields", j),
                f"purpose '{purpose.id}': '{rule.path}' is pseudonymised, which needs the "
                "gateway's pseudonym secret; the gateway refuses to load it without one",
            )
    for j, name in enumerate(purpose.request_fields):
        if name not in purpose.subject_identifiers and name not in MATCHING_ATTRIBUTES:
            yield Lint(
                "fields.request_unneeded",
                (*where, "request_fields", j),
                f"purpose '{purpose.id}': request field '{name}' neither identifies the subject "
                f"nor helps match them ({', '.join(sorted(MATCHING_ATTRIBUTES))}), so the "
                "purpose does not need it",
            )


def _covers(outer: str, inner: str) -> bool:
    """Whether allowing ``outer`` already allows ``inner`` (a path inside it)."""
    return inner.startswith(outer + ".") or inner.startswith(outer + "[]")
