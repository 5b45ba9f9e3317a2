"""The one clock rule decisions follow, in the gateway and in ``gateway policy explain`` alike.

- A request is decided at the time the gateway received it: the ``now`` of the batch it came in
  (for a request under a capped purpose, of the batch the owning instance decided it in). The
  request's own ``sent_at`` is the requester's word, audited but not the time of the decision.
- Validity dates (``valid_from``, ``valid_until``) are UTC calendar days, both inclusive: an
  agreement valid until 2026-12-03 approves requests received up to 2026-12-03T23:59:59.999Z.
  A time with another offset is converted to UTC first, so the same instant is the same day
  wherever it is written.
- ``sent_at`` must lie within a window around the receive time (default: at most 5 minutes ahead,
  24 hours behind); outside it the request is denied (``request.sent_at_ahead``,
  ``request.sent_at_stale``): a clock that far off, or a request that old, is not one to act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from gateway.envelope.models import Reason
from gateway.policy import rules

__all__ = ["DEFAULT_SENT_AT_WINDOW", "SentAtWindow", "utc_day"]


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of a timezone-aware ``moment``: the day validity dates are read in."""
    if moment.utcoffset() is None:
        raise ValueError("decisions need a timezone-aware time")
    return moment.astimezone(UTC).date()


@dataclass(frozen=True, slots=True)
class SentAtWindow:
    """How far a request's ``sent_at`` may be from the time the gateway received it."""

    ahead: timedelta = timedelta(minutes=5)
    """Sent at most this much later than received: clocks differ, but not by more."""
    behind: timedelta = timedelta(hours=24)
    """Sent at most this much earlier than received: a request queued longer is stale."""

    def __post_init__(self) -> None:
        if self.ahead < timedelta(0) or self.behind < timedelta(0):
            raise ValueError("the sent_at window's bounds must not be negative")

    def problem(self, sent_at: datetime, received: datetime) -> Reason | None:
        """Why ``sent_at`` is not to be believed at ``received``, or None if it is."""
        offset = sent_at - received
        if offset > self.ahead:
            return rules.sent_at_ahead(offset, self.ahead)
        if -offset > self.behind:
            return rules.sent_at_stale(-offset, self.behind)
        return None


DEFAULT_SENT_AT_WINDOW = SentAtWindow()
