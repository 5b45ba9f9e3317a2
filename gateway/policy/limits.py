"""Limits a purpose may put on what it releases: volume caps and the subject's age."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from gateway.policy._types import KeyProblems, Strict

__all__ = ["Caps", "SubjectConditions"]


class Caps(Strict):
    """The most requests one requester may have approved for a purpose per hour and per day."""

    per_hour: Annotated[int, Field(ge=1, strict=True)] | None = None
    per_day: Annotated[int, Field(ge=1, strict=True)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Caps:
        problems = KeyProblems()
        if self.per_hour is None and self.per_day is None:
            problems.add("per_hour", "give per_hour, per_day or both")
        elif self.per_day is not None and (self.per_hour or 0) > self.per_day:
            problems.add("per_hour", "must not be more than per_day")
        problems.raise_if_any()
        return self


class SubjectConditions(Strict):
    """Ages (in whole years, on the day of the response) a subject's record may be released at."""

    min_age: Annotated[int, Field(ge=0, le=150, strict=True)] | None = None
    max_age: Annotated[int, Field(ge=0, le=150, strict=True)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SubjectConditions:
        problems = KeyProblems()
        if self.min_age is None and self.max_age is None:
            problems.add("min_age", "give min_age, max_age or both")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            problems.add("max_age", "must not be less than min_age")
        problems.raise_if_any()
        return self
