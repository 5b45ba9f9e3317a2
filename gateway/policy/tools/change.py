"""One difference between two policy revisions, as :func:`diff_policies` reports it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Change", "listed"]


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: a stable ``kind`` code, where it is, and what it means in plain words."""

    agreement_id: str
    purpose: str | None
    kind: str
    text: str
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.agreement_id} / {self.purpose}" if self.purpose else self.agreement_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "agreement_id": self.agreement_id,
            "purpose": self.purpose,
            "kind": self.kind,
            "text": self.text,
            "before": list(self.before),
            "after": list(self.after),
        }


def listed(names: Iterable[str]) -> str:
    """Names joined by commas, or ``nothing``."""
    items = list(names)
    return ", ".join(items) if items else "nothing"
