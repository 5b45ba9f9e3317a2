"""Topic names: one place decides them, so the prefix is configurable everywhere.

They belong with the envelope: the core routes each message by them (an approved request goes to
the provider's inbox, a reply to the requester's replies topic), and the departments rely on them
like on the schemas. Transport re-uses them from :mod:`gateway.transport.topics`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TopicNames"]

_KINDS = ("requests", "inbox", "responses", "replies")


@dataclass(frozen=True, slots=True)
class TopicNames:
    """Names the gateway's topics for a prefix (default ``dx``).

    Per department: ``<p>.requests.<d>`` (it publishes requests), ``<p>.inbox.<d>`` (approved
    requests it must answer), ``<p>.responses.<d>`` (its answers), ``<p>.replies.<d>`` (what it
    receives back). Shared: ``<p>.audit``, ``<p>.deadletter`` and ``<p>.capped`` (internal:
    requests under capped purposes, keyed by cap key, so one instance decides each key).
    """

    prefix: str = "dx"

    def requests(self, dept: str) -> str:
        return f"{self.prefix}.requests.{dept}"

    def inbox(self, dept: str) -> str:
        return f"{self.prefix}.inbox.{dept}"

    def responses(self, dept: str) -> str:
        return f"{self.prefix}.responses.{dept}"

    def replies(self, dept: str) -> str:
        return f"{self.prefix}.replies.{dept}"

    @property
    def audit(self) -> str:
        return f"{self.prefix}.audit"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}.deadletter"

    @property
    def capped(self) -> str:
        return f"{self.prefix}.capped"

    def for_department(self, dept: str) -> list[str]:
        return [f"{self.prefix}.{kind}.{dept}" for kind in _KINDS]

    def all_topics(self, depts: list[str]) -> list[str]:
        """Every topic the gateway uses for these departments, shared ones last."""
        names = [t for d in sorted(depts) for t in self.for_department(d)]
        return [*names, self.audit, self.deadletter, self.capped]

    def parse(self, topic: str) -> tuple[str, str] | None:
        """``(kind, dept)`` for a per-department topic, or None if the name is not ours."""
        head = f"{self.prefix}."
        if not topic.startswith(head):
            return None
        kind, _, dept = topic[len(head) :].partition(".")
        if kind not in _KINDS or not dept or "." in dept:
            return None
        return kind, dept
