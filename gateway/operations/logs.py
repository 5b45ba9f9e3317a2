"""The one logging configuration every ``gateway`` command uses: text or JSON lines, and the
Kafka client's error flood turned into one clear line.

With the broker gone, aiokafka logs about a hundred ERROR lines a second (connect refused,
metadata failed, fetch failed). :class:`KafkaNoise` says once, in the gateway's own words, that
Kafka is unreachable, lets one of the client's lines through per ``every_s`` seconds with a count
of those held back, says when Kafka answers again, and feeds
:data:`gateway.operations.metrics.KAFKA` (readiness and metrics).

Log messages name codes, coordinates and field names, never personal-data values (the gateway's
own convention); JSON lines add the level, the logger, the time and the instance id.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Literal

from gateway.operations.metrics import KAFKA, KafkaReachability

__all__ = ["JsonFormatter", "KafkaNoise", "configure_logging"]

LogFormat = Literal["text", "json"]
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CLIENT_LOGGERS = ("aiokafka", "kafka", "faust", "mode")
log = logging.getLogger("gateway.kafka")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``at``, ``level``, ``logger``, ``message``, ``instance``."""

    def __init__(self, instance: str | None = None) -> None:
        super().__init__()
        self._instance = instance

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self._instance is not None:
            line["instance"] = self._instance
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class KafkaNoise(logging.Filter):
    """A handler filter: the Kafka client's warnings and errors at most once per ``every_s``."""

    def __init__(self, kafka: KafkaReachability = KAFKA, every_s: float = 30.0) -> None:
        super().__init__()
        self._kafka = kafka
        self._every = every_s
        self._last_shown = -float("inf")
        self._held = 0
        self._unreachable = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("aiokafka") or record.levelno < logging.WARNING:
            return True
        if record.levelno >= logging.ERROR:
            text = record.getMessage()
            self._kafka.error(text)
            if not self._unreachable:
                self._unreachable = True
                log.error(
                    "Kafka unreachable: %s (the client's own errors follow at most once every "
                    "%.0fs)",
                    text,
                    self._every,
                )
                self._last_shown = time.monotonic()
                return False
        now = time.monotonic()
        if now - self._last_shown < self._every:
            self._held += 1
            return False
        if self._held:
            record.msg = f"{record.msg} ({self._held} similar client lines held back)"
            self._held = 0
        self._last_shown = now
        return True

    def check(self) -> None:
        """Say when Kafka answers again (called now and then by the running gateway)."""
        if self._unreachable and self._kafka.reachable:
            self._unreachable = False
            log.warning(
                "Kafka reachable again (%d client errors held back since the last shown)",
                self._held,
            )
            self._held = 0


NOISE = KafkaNoise()
"""The process's filter (one configuration, one filter)."""


def configure_logging(
    verbose: bool, log_format: LogFormat = "text", instance: str | None = None
) -> None:
    """Log to stderr as text or JSON lines; the Kafka client's flood held back (above)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(instance) if log_format == "json" else logging.Formatter(_TEXT)
    )
    handler.addFilter(NOISE)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_gateway", False):
            root.removeHandler(old)
    handler._gateway = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in _CLIENT_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)
