"""What a reliability campaign found: one JSON object, and whether it passed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CampaignReport", "Fault"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault injected (or the repair after it), ``at_s`` seconds after traffic began."""

    kind: str
    """``gateway_killed`` (SIGKILL), ``gateway_started`` (its replacement), ``broker_killed``,
    ``broker_restarted``, ``member_added``, ``member_removed`` (SIGTERM, a clean leave)."""
    target: str
    at_s: float
    time: str
    """Wall-clock time, ISO 8601 UTC."""


@dataclass(slots=True)
class CampaignReport:
    """Every request sent checked against every reply received, and the audit chains."""

    sent: int = 0
    answered: int = 0
    """Requests with at least one reply."""
    lost: int = 0
    """Requests sent and never answered."""
    duplicated: int = 0
    """Requests answered more than once."""
    wrong: int = 0
    """Replies that differ from what the policy gives for their request (or are not signed by
    the gateway for their topic, or answer a request nobody sent)."""
    audit_chain_valid: bool = False
    audit_records: int = 0
    decisions: int = 0
    """Decision records (request and response stage) in the audit log."""
    faults: list[Fault] = field(default_factory=list)
    unaudited: int = 0
    """Requests without exactly one request-stage decision in the audit log."""
    gateways: int = 0
    seed: int = 0
    traffic_s: float = 0.0
    elapsed_s: float = 0.0
    examples: dict[str, list[str]] = field(default_factory=dict)
    """A few request ids (and what was wrong) per failed check, to start an investigation."""
    audit_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.lost == self.duplicated == self.wrong == self.unaudited == 0
            and self.audit_chain_valid
            and self.sent > 0
        )

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out
