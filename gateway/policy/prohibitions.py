"""Rules over every agreement (``policies/global.yaml``): purpose categories and prohibitions.

A global prohibition names the providers, requesters and purpose categories it covers; a request
it covers is denied with its reason (rule ``prohibition.global``) whatever the agreement says.
For example, health data (provider ``nhs``) may never serve ``immigration-enforcement``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, model_validator

from gateway.policy._types import DepartmentId, KebabId, KeyProblems, Strict, Text, unique

__all__ = ["EMPTY_GLOBAL_POLICY", "GLOBAL_FILE_NAMES", "GlobalPolicy", "GlobalProhibition"]

GLOBAL_FILE_NAMES = ("global.yaml", "global.yml")
"""The file in the policy directory that holds the global rules instead of an agreement."""


class GlobalProhibition(Strict):
    """A prohibition over every agreement; each non-empty selector must match (any of its items)."""

    id: KebabId
    reason: Text
    providers: Annotated[tuple[DepartmentId, ...], AfterValidator(unique)] = ()
    requesters: Annotated[tuple[DepartmentId, ...], AfterValidator(unique)] = ()
    categories: Annotated[tuple[KebabId, ...], AfterValidator(unique)] = ()

    @model_validator(mode="after")
    def _selective(self) -> GlobalProhibition:
        if not (self.providers or self.requesters or self.categories):
            problems = KeyProblems()
            problems.add("categories", "name providers, requesters or categories it covers")
            problems.raise_if_any()
        return self

    def covers(self, requester: str, provider: str, category: str | None) -> bool:
        """Whether a purpose of ``category`` between these parties falls under the prohibition."""
        return (
            (not self.providers or provider in self.providers)
            and (not self.requesters or requester in self.requesters)
            and (not self.categories or category in self.categories)
        )


class GlobalPolicy(Strict):
    """The contents of ``global.yaml``."""

    categories: dict[KebabId, Text] = {}
    """Purpose category -> what it means; a purpose's ``category`` must be one of these."""
    require_category: bool = False
    """Whether every purpose must name a category (so none escapes a prohibition unclassified)."""
    prohibitions: tuple[GlobalProhibition, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> GlobalPolicy:
        problems = KeyProblems()
        ids = [p.id for p in self.prohibitions]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            problems.add("prohibitions", f"ids must be unique: {', '.join(repeated)}")
        for prohibition in self.prohibitions:
            unknown = [c for c in prohibition.categories if c not in self.categories]
            if unknown:
                problems.add(
                    "prohibitions",
                    f"'{prohibition.id}' names undeclared categories: {', '.join(unknown)}",
                )
        if self.require_category and not self.categories:
            problems.add("require_category", "needs at least one declared category")
        problems.raise_if_any()
        return self


EMPTY_GLOBAL_POLICY = GlobalPolicy()
"""No categories and no global prohibitions (a policy directory without ``global.yaml``)."""
