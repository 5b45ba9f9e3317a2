"""What the processor tells an observer as it works: a seam for metrics, free of I/O.

The processor calls an :class:`ExchangeObserver` (when it has one) for every audit record it
seals and every dead letter it writes, with what the audit record holds: names, codes and
coordinates, never values. An observer must be cheap and must not raise; the runner decides when
what was observed counts (after the batch's outputs are acknowledged).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from gateway.envelope.models import AuditStage
from gateway.exchange.messages import InputMessage

__all__ = ["ExchangeObserver"]


class ExchangeObserver(Protocol):
    def audited(self, stage: AuditStage, fields: Mapping[str, Any]) -> None:
        """An audit record was sealed with ``fields`` (outcome, reasons, agreement, purpose,
        the field names released, transformed and withheld, ...). Fields given read-only (a
        ``MappingProxyType``) are those of a compiled class, the same object for each of its
        records: an observer may work out once what they count in."""

    def dead_lettered(self, msg: InputMessage, code: str) -> None:
        """``msg`` was sent to the dead-letter topic under error ``code``."""
