"""Check one purpose against its provider's dataset and the global rules (compile time)."""

from __future__ import annotations

from gateway.policy.conditions import BIRTH_DATE_FIELD
from gateway.policy.datasets import DatasetShape, LeafKind
from gateway.policy.model import Purpose
from gateway.policy.prohibitions import GlobalPolicy

__all__ = ["purpose_problems"]


def purpose_problems(
    purpose: Purpose, shape: DatasetShape, global_policy: GlobalPolicy
) -> list[str]:
    """Every problem with ``purpose``'s field paths, transforms, age limits and category."""
    problems: list[str] = []
    for name in purpose.request_fields:
        if not shape.covers(name):
            problems.append(
                f"request field {name!r} is not a field of {shape.name}{shape.suggest(name)}"
            )
    for rule in purpose.response_fields:
        if not shape.covers(rule.path):
            problems.append(
                f"response field {rule.path!r} is not a field of {shape.name}"
                f"{shape.suggest(rule.path)}"
            )
            continue
        why = shape.transform_problem(rule.path, rule.transform)
        if why is not None:
            problems.append(f"response field {rule.path!r}: {why}")
    limited = purpose.min_age > 0 or (
        purpose.subject_conditions is not None and purpose.subject_conditions.max_age is not None
    )
    if limited and shape.leaves.get(BIRTH_DATE_FIELD) is not LeafKind.DATE:
        problems.append(
            f"age conditions (children are withheld unless allowed) need a {BIRTH_DATE_FIELD} "
            f"date in {shape.name}; add children: allowed if the purpose may release any age"
        )
    category = purpose.category
    if category is not None and category not in global_policy.categories:
        declared = ", ".join(global_policy.categories) or "none"
        problems.append(
            f"category {category!r} is not declared in global.yaml (declared: {declared})"
        )
    if category is None and global_policy.require_category:
        problems.append("needs a category: global.yaml requires every purpose to name one")
    return problems
