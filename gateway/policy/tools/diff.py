"""What changes between two policy revisions, per agreement and purpose, in plain language.

:func:`gateway.policy.describe_change` says which agreements and purposes changed (by digest);
this module spells out how: validity, status, purposes, prohibitions, fields and transforms.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from gateway.policy.changes import describe_change
from gateway.policy.compiler import CompiledAgreement, CompiledPolicy, CompiledPurpose
from gateway.policy.tools._purpose_diff import global_changes, purpose_changes
from gateway.policy.tools.change import Change
from gateway.policy.tools.change import listed as _list

__all__ = ["Change", "diff_policies"]

_DETAILS = ("title", "legal_basis", "reference", "owner")
_DATES = ("valid_from", "valid_until", "review_by")


def diff_policies(old: CompiledPolicy, new: CompiledPolicy) -> list[Change]:
    """Every change from ``old`` to ``new``, ordered by agreement id, agreement-level first."""
    summary = describe_change(old, new)
    changed = {c.id for c in summary.changed}
    if summary.global_changed:  # global prohibitions may now cover any agreement
        changed |= set(old.by_id) & set(new.by_id)
    changes: list[Change] = []
    for agreement_id in sorted({*summary.added, *summary.removed, *changed}):
        before, after = old.by_id.get(agreement_id), new.by_id.get(agreement_id)
        if before is None and after is not None:
            changes.extend(_added(after))
        elif after is None and before is not None:
            changes.extend(_removed(before))
        elif before is not None and after is not None:
            changes.extend(_agreement(before, after))
    return changes


def _added(agreement: CompiledAgreement) -> Iterator[Change]:
    until = agreement.valid_until.isoformat() if agreement.valid_until else "no end date"
    yield Change(
        agreement.id,
        None,
        "agreement.added",
        f"new agreement '{agreement.title}': {agreement.requester} asks {agreement.provider}, "
        f"{agreement.status.value}, valid from {agreement.valid_from.isoformat()} until {until}",
        after=tuple(agreement.purposes),
    )
    for purpose in agreement.purposes.values():
        yield _purpose_added(agreement, purpose)
    for purpose_id, reason in agreement.prohibited.items():
        yield Change(agreement.id, purpose_id, "purpose.prohibited", f"prohibited: {reason}")


def _removed(agreement: CompiledAgreement) -> Iterator[Change]:
    yield Change(
        agreement.id,
        None,
        "agreement.removed",
        f"agreement removed: requests naming it will be refused as unknown "
        f"({agreement.requester} asked {agreement.provider})",
        before=tuple(agreement.purposes),
    )
    for purpose_id in agreement.purposes:
        yield _withdrawn(agreement, purpose_id)


def _withdrawn(agreement: CompiledAgreement, purpose_id: str) -> Change:
    text = f"withdrawn: {agreement.requester} may no longer ask {agreement.provider} for it"
    return Change(agreement.id, purpose_id, "purpose.withdrawn", text)


def _agreement(old: CompiledAgreement, new: CompiledAgreement) -> Iterator[Change]:
    aid = new.id
    if (old.requester, old.provider) != (new.requester, new.provider):
        yield Change(
            aid,
            None,
            "agreement.parties",
            f"parties change from {old.requester} asking {old.provider} "
            f"to {new.requester} asking {new.provider}",
            (old.requester, old.provider),
            (new.requester, new.provider),
        )
    if old.status is not new.status:
        yield Change(
            aid,
            None,
            "agreement.status",
            f"status changes from {old.status.value} to {new.status.value}"
            + _status_effect(new.status.value),
            (old.status.value,),
            (new.status.value,),
        )
    for key in _DATES:
        was, now = _date(getattr(old, key)), _date(getattr(new, key))
        if was != now:
            kind = "agreement.validity" if key != "review_by" else "agreement.review"
            text = f"{key.replace('_', ' ')} changes from {was} to {now}"
            yield Change(aid, None, kind, text, (was,), (now,))
    for key in _DETAILS:
        was, now = getattr(old, key), getattr(new, key)
        if was != now:
            text = f"{key.replace('_', ' ')} reworded"
            yield Change(aid, None, "agreement.details", text, (was,), (now,))
    yield from global_changes(aid, None, old.prohibited_globally, new.prohibited_globally)
    yield from _prohibitions(old, new)
    for purpose_id in _ordered(old.purposes, new.purposes):
        before, after = old.purposes.get(purpose_id), new.purposes.get(purpose_id)
        if after is None:
            yield _withdrawn(new, purpose_id)
        elif before is None:
            yield _purpose_added(new, after)
        else:
            yield from purpose_changes(aid, before, after)


def _prohibitions(old: CompiledAgreement, new: CompiledAgreement) -> Iterator[Change]:
    for purpose_id in _ordered(old.prohibited, new.prohibited):
        was, now = old.prohibited.get(purpose_id), new.prohibited.get(purpose_id)
        if was is None and now is not None:
            yield Change(new.id, purpose_id, "purpose.prohibited", f"newly prohibited: {now}")
        elif now is None:
            yield Change(new.id, purpose_id, "purpose.prohibition_lifted", "no longer prohibited")
        elif was != now:
            yield Change(
                new.id,
                purpose_id,
                "purpose.prohibition_reason",
                "reason for the prohibition reworded",
                (was or "",),
                (now,),
            )


def _purpose_added(agreement: CompiledAgreement, purpose: CompiledPurpose) -> Change:
    return Change(
        agreement.id,
        purpose.id,
        "purpose.allowed",
        f"newly allowed: {agreement.requester} may ask {agreement.provider} for it, sending "
        f"{_list(sorted(purpose.request_fields))} and receiving {_list(purpose.response_fields)}",
        after=purpose.response_fields,
    )


def _ordered(old: Iterable[str], new: Iterable[str]) -> list[str]:
    """Keys of both, in the new revision's order, then the removed ones."""
    after = list(new)
    return after + [k for k in old if k not in after]


def _status_effect(status: str) -> str:
    return {
        "active": ": requests may be approved again",
        "suspended": ": nothing will be shared until it is active again",
        "ended": ": nothing will be shared under it",
    }.get(status, "")


def _date(value: date | None) -> str:
    return value.isoformat() if value is not None else "none"
