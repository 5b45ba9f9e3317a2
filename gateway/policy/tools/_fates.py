"""What becomes of each response field under a purpose, by field name alone.

A response-stage audit record names every leaf field the provider sent: those released (some of
them transformed, recorded as ``path:transform``) and those withheld. Replaying those names
against a candidate purpose's allow-list and transform plan gives the fields it would release,
transform and withhold, following :func:`gateway.redaction.redact`: a field outside the
allow-list is withheld; one a transform acts on is released transformed, or withheld when the
transform is ``drop``; one inside a transformed path, or above one, is not shaped as the plan
expects and is withheld.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from gateway.envelope.models import AuditRecord
from gateway.redaction.paths import PathSet, parse_path
from gateway.redaction.plan import PlanNode, TransformPlan

__all__ = ["Fates", "candidate_fates", "recorded_fates"]


class Fates(NamedTuple):
    """Response field paths released, transform labels applied, and paths withheld."""

    released: frozenset[str]
    transformed: frozenset[str]
    """``path:transform`` for each released path whose values were transformed."""
    withheld: frozenset[str]

    @property
    def names(self) -> frozenset[str]:
        """Every field the provider sent."""
        return self.released | self.withheld


NOTHING = Fates(frozenset(), frozenset(), frozenset())


def recorded_fates(record: AuditRecord) -> Fates:
    """The fates a response-stage record names."""
    return Fates(
        frozenset(record.fields_released),
        frozenset(record.fields_transformed),
        frozenset(record.fields_withheld),
    )


def candidate_fates(names: Iterable[str], allowed: PathSet, plan: TransformPlan) -> Fates:
    """The fates of the fields ``names`` under ``allowed`` and ``plan``."""
    released: set[str] = set()
    transformed: set[str] = set()
    withheld: set[str] = set()
    for name in names:
        if not allowed.covers(name):
            withheld.add(name)
            continue
        kept, label = _transform(name, plan.root)
        if not kept:
            withheld.add(name)
            continue
        released.add(name)
        if label:
            transformed.add(label)
    return Fates(frozenset(released), frozenset(transformed), frozenset(withheld))


def _transform(name: str, root: PlanNode | None) -> tuple[bool, str]:
    """Whether the field is released under the plan, and the label of its transform if any."""
    node = root
    for segment in parse_path(name):
        if node is None:
            return True, ""
        if node.name is not None:  # a transform on an enclosing record or list
            return False, ""
        child = node.fields.get(segment.name)
        node = child.items if child is not None and segment.array else child
    if node is None:
        return True, ""
    if node.name is None:  # the plan acts deeper down than this single value
        return False, ""
    return (False, "") if node.drop else (True, node.label)
