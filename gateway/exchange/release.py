"""May a verified response be released now, which paths of its record, and in what form?

The request was approved earlier; the policy set may have changed since (an agreement ended,
a purpose was withdrawn or globally prohibited). Release is therefore checked again against the
active policy, the record's subject is checked against the purpose's age conditions, and the
record is cut to the purpose's allow-list as it stands now, narrowed to what was asked for, with
the purpose's transforms applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from gateway.envelope.models import ProviderResponse, Reason
from gateway.policy import CompiledPolicy, CompiledPurpose, utc_day
from gateway.redaction import EMPTY_PATHS, EMPTY_PLAN, PathSet, TransformPlan

__all__ = ["ReleaseCheck", "ReleaseChecker"]


@dataclass(frozen=True, slots=True)
class ReleaseCheck:
    allowed: bool
    reasons: tuple[Reason, ...]
    paths: PathSet = field(default=EMPTY_PATHS)
    transforms: TransformPlan = field(default=EMPTY_PLAN)
    purpose: CompiledPurpose | None = None

    def subject_problem(self, record: Mapping[str, Any], today: date) -> Reason | None:
        """Why the record's subject may not be released for this purpose on UTC day ``today``
        (:func:`~gateway.policy.utc_day`), if so."""
        purpose = self.purpose
        if purpose is None or purpose.subject is None:
            return None
        return purpose.subject.check(record, today)


class ReleaseChecker:
    """Checks releases against the active policy set (narrowed allow-lists are cached by
    :meth:`PathSet.narrow`)."""

    __slots__ = ()

    def check(
        self, policy: CompiledPolicy, response: ProviderResponse, now: datetime
    ) -> ReleaseCheck:
        agreement = policy.agreement(response.agreement_id)
        purpose = policy.purpose(response.agreement_id, response.purpose)
        if agreement is None or purpose is None:
            return _blocked(
                "release.purpose_withdrawn",
                f"agreement {response.agreement_id!r} no longer allows purpose "
                f"{response.purpose!r}; nothing released",
            )
        if (agreement.requester, agreement.provider) != (response.requester, response.responder):
            return _blocked(
                "release.parties",
                f"agreement {agreement.id!r} is between {agreement.requester!r} and "
                f"{agreement.provider!r}; nothing released",
            )
        if not agreement.in_force_on(utc_day(now)):
            return _blocked(
                "release.agreement_not_in_force",
                f"agreement {agreement.id!r} is no longer in force "
                f"(status {agreement.status.value}); nothing released",
            )
        if purpose.prohibited_globally:
            return ReleaseCheck(False, purpose.prohibited_globally)
        wanted = response.wanted
        paths = purpose.response_paths.narrow(wanted) if wanted else purpose.response_paths
        return ReleaseCheck(True, (purpose.approval,), paths, purpose.transforms, purpose)


def _blocked(code: str, message: str) -> ReleaseCheck:
    return ReleaseCheck(False, (Reason(code=code, message=message),))
