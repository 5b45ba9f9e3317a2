"""How one purpose differs between two revisions: fields, conditions, prohibitions, transforms."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gateway.envelope.models import Reason
from gateway.policy.compiler import CompiledPurpose
from gateway.policy.tools.change import Change
from gateway.policy.tools.change import listed as _list
from gateway.redaction.transforms import TransformSpec

__all__ = ["global_changes", "purpose_changes"]


def transforms_of(purpose: CompiledPurpose) -> dict[str, str]:
    """Field path -> the transform a purpose applies to it (fields kept as they are left out)."""
    return {path: _spec_text(spec) for path, spec in purpose.transforms.rules}


def purpose_changes(aid: str, old: CompiledPurpose, new: CompiledPurpose) -> Iterator[Change]:
    """Every difference between two revisions of one purpose of agreement ``aid``."""
    pid = new.id
    sent_before, sent_now = old.request_fields, new.request_fields
    if added := sorted(sent_now - sent_before):
        yield Change(
            aid,
            pid,
            "fields.request_allowed",
            f"may now also send {_list(added)}",
            after=tuple(added),
        )
    if gone := sorted(sent_before - sent_now):
        yield Change(
            aid,
            pid,
            "fields.request_withdrawn",
            f"may no longer send {_list(gone)}",
            before=tuple(gone),
        )
    if old.subject_identifiers != new.subject_identifiers:
        yield Change(
            aid,
            pid,
            "fields.identifiers",
            f"subject identifiers change from {_list(old.subject_identifiers)} to "
            f"{_list(new.subject_identifiers)}",
            old.subject_identifiers,
            new.subject_identifiers,
        )
    released = _uncovered(new.response_fields, old.response_fields)
    if released:
        yield Change(
            aid, pid, "fields.released", f"newly releases {_list(released)}", after=released
        )
    withheld = _uncovered(old.response_fields, new.response_fields)
    if withheld:
        yield Change(
            aid, pid, "fields.withheld", f"no longer releases {_list(withheld)}", before=withheld
        )
    yield from _conditions(aid, old, new)
    yield from _transforms(aid, pid, transforms_of(old), transforms_of(new))
    yield from global_changes(aid, pid, old.prohibited_globally, new.prohibited_globally)


def _transforms(aid: str, pid: str, old: dict[str, str], new: dict[str, str]) -> Iterator[Change]:
    for path in sorted(set(old) | set(new)):
        was, now = old.get(path, "keep"), new.get(path, "keep")
        if was != now:
            yield Change(
                aid,
                pid,
                "transforms.changed",
                f"{path} is now released as '{now}' (was '{was}')",
                (f"{path}: {was}",),
                (f"{path}: {now}",),
            )


def global_changes(
    aid: str, pid: str | None, old: Iterable[Reason], new: Iterable[Reason]
) -> Iterator[Change]:
    """Global prohibitions (reasons) that newly cover, or no longer cover, the agreement."""
    was, now = {r.message for r in old}, {r.message for r in new}
    for message in sorted(now - was):
        yield Change(aid, pid, "purpose.prohibited_globally", f"newly prohibited: {message}")
    for message in sorted(was - now):
        yield Change(
            aid, pid, "purpose.global_prohibition_lifted", f"no longer prohibited: {message}"
        )


def _uncovered(paths: Iterable[str], others: Iterable[str]) -> tuple[str, ...]:
    """``paths`` that ``others`` does not allow (neither listed nor inside a listed path)."""
    allowed = tuple(others)
    return tuple(
        p
        for p in paths
        if not any(p == o or p.startswith(f"{o}.") or p.startswith(f"{o}[]") for o in allowed)
    )


def _conditions(aid: str, old: CompiledPurpose, new: CompiledPurpose) -> Iterator[Change]:
    """Category, volume caps and the subjects' ages."""
    pid = new.id
    for kind, label, was, now in (
        ("purpose.category", "category changes", old.category or "none", new.category or "none"),
        ("purpose.caps", "volume caps change", _caps(old), _caps(new)),
        ("purpose.subjects", "subjects released change", _ages(old), _ages(new)),
    ):
        if was != now:
            yield Change(aid, pid, kind, f"{label} from {was} to {now}", (was,), (now,))


def _caps(purpose: CompiledPurpose) -> str:
    caps = purpose.caps
    if caps is None:
        return "none"
    limits = [(caps.per_hour, "an hour"), (caps.per_day, "a day")]
    return " and ".join(f"{n} {per}" for n, per in limits if n is not None)


def _ages(purpose: CompiledPurpose) -> str:
    rule = purpose.subject
    if rule is None:
        return "any age"
    if rule.max_age is None:
        return f"aged {rule.min_age} or over"
    return f"aged {rule.min_age} to {rule.max_age}"


def _spec_text(spec: TransformSpec) -> str:
    """``mask (keep_last 2)``, ``truncate 3``, ``drop``."""
    shown = spec.as_yaml()
    if not isinstance(shown, dict):
        return str(shown)
    ((name, options),) = shown.items()
    if isinstance(options, dict):
        return f"{name} ({', '.join(f'{k} {v}' for k, v in options.items())})"
    return f"{name} {options}"
