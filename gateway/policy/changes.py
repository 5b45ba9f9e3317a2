"""What changed between two policy revisions, in words an audit record can carry.

A change names agreements and purposes, and the keys whose terms changed; never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.envelope.models import Reason
from gateway.policy.compiler import CompiledAgreement, CompiledPolicy

__all__ = ["AgreementChange", "PolicyChange", "describe_change"]

_TERMS = (
    "title",
    "requester",
    "provider",
    "legal_basis",
    "reference",
    "owner",
    "status",
    "valid_from",
    "valid_until",
    "review_by",
    "prohibited",
)


@dataclass(frozen=True, slots=True)
class AgreementChange:
    """How one agreement differs between two revisions."""

    id: str
    terms: tuple[str, ...]
    """Agreement-level keys that changed, e.g. ``status``, ``valid_until``."""
    purposes_added: tuple[str, ...]
    purposes_removed: tuple[str, ...]
    purposes_changed: tuple[str, ...]
    status: tuple[str, str] | None
    """``(old, new)`` when the status changed."""

    def describe(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(f"status {self.status[0]} -> {self.status[1]}")
        other = [t for t in self.terms if t != "status"]
        if other:
            parts.append("changed " + ", ".join(other))
        for verb, ids in (
            ("added", self.purposes_added),
            ("removed", self.purposes_removed),
            ("changed", self.purposes_changed),
        ):
            if ids:
                parts.append(f"purposes {verb}: {', '.join(ids)}")
        return f"'{self.id}' ({'; '.join(parts) or 'wording only'})"


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """One swap of the active policy set: the versions, and what differs between them."""

    old_version: str
    new_version: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[AgreementChange, ...]
    global_changed: bool
    old: CompiledPolicy = field(repr=False, compare=False)
    new: CompiledPolicy = field(repr=False, compare=False)

    @property
    def summary(self) -> str:
        """One line of plain English, e.g. for the log."""
        parts = []
        if self.added:
            parts.append(f"added {', '.join(self.added)}")
        if self.removed:
            parts.append(f"removed {', '.join(self.removed)}")
        if self.changed:
            parts.append("changed " + ", ".join(c.describe() for c in self.changed))
        if self.global_changed:
            parts.append("global rules changed")
        detail = "; ".join(parts) or "no agreement changed (file names or comments only)"
        return f"policy {self.old_version} replaced by {self.new_version}: {detail}"

    def reasons(self) -> tuple[Reason, ...]:
        """The change as audit reasons: ``policy.changed`` first, then one per item."""
        out = [Reason(code="policy.changed", message=self.summary)]
        out += [
            Reason(code="policy.agreement_added", message=f"Agreement '{i}' was added.")
            for i in self.added
        ]
        out += [
            Reason(code="policy.agreement_removed", message=f"Agreement '{i}' was removed.")
            for i in self.removed
        ]
        out += [
            Reason(code="policy.agreement_changed", message=f"Agreement {c.describe()}.")
            for c in self.changed
        ]
        if self.global_changed:
            out.append(
                Reason(
                    code="policy.global_changed",
                    message="The global categories or prohibitions changed.",
                )
            )
        return tuple(out)


def describe_change(old: CompiledPolicy, new: CompiledPolicy) -> PolicyChange:
    """Compare two compiled revisions agreement by agreement."""
    old_ids, new_ids = set(old.by_id), set(new.by_id)
    changed = tuple(
        _agreement_change(old.by_id[i], new.by_id[i])
        for i in sorted(old_ids & new_ids)
        if old.by_id[i].digest != new.by_id[i].digest
    )
    return PolicyChange(
        old_version=old.version,
        new_version=new.version,
        added=tuple(sorted(new_ids - old_ids)),
        removed=tuple(sorted(old_ids - new_ids)),
        changed=changed,
        global_changed=old.global_digest != new.global_digest,
        old=old,
        new=new,
    )


def _agreement_change(old: CompiledAgreement, new: CompiledAgreement) -> AgreementChange:
    terms = tuple(t for t in _TERMS if getattr(old, t) != getattr(new, t))
    before, after = old.purposes, new.purposes
    return AgreementChange(
        id=new.id,
        terms=terms,
        purposes_added=tuple(p for p in after if p not in before),
        purposes_removed=tuple(p for p in before if p not in after),
        purposes_changed=tuple(
            p for p in after if p in before and before[p].digest != after[p].digest
        ),
        status=(old.status.value, new.status.value) if old.status is not new.status else None,
    )
