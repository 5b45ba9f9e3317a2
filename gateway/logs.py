"""One logging set-up for every command: text or JSON lines on stderr, the same quiet libraries,
and the Kafka client's error flood said once.

Every ``gateway`` command (and ``python -m consumers.departments``, the same command) calls
:func:`configure_logging` once before it starts work. ``verbose`` lowers the gateway's level to
DEBUG, lets the Kafka and faust libraries speak from WARNING, and makes the CLI print a
traceback beside its one-line error (:func:`is_verbose`). ``log_format="json"`` writes one JSON
object per line with the level, the logger, the time and the instance id. Other output forms
extend this module: add a keyword argument and a formatter here, not a second set-up elsewhere.

With the broker gone, aiokafka logs about a hundred ERROR lines a second (connect refused,
metadata failed, fetch failed). :class:`KafkaNoise` counts them into :data:`KAFKA` (readiness
and metrics), says once in the gateway's own words that Kafka is unreachable (in a process that
reached it and keeps running; before that, the command's own one-line error says it), says when
Kafka answers again, and, when the client's lines are shown at all (``verbose``), lets one
through per ``every_s`` seconds with a count of those held back.

Log messages name codes, coordinates and field names, never personal-data values (the gateway's
own convention).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Literal, TextIO

__all__ = [
    "KAFKA",
    "JsonFormatter",
    "KafkaNoise",
    "KafkaReachability",
    "LogFormat",
    "configure_logging",
    "is_verbose",
]

LogFormat = Literal["text", "json"]

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
"""Every command's text log line: time, level, logger, message."""

QUIET_LIBRARIES = ("aiokafka", "kafka", "faust", "mode", "uvicorn.error")
"""Libraries that log each failed connection or retry themselves; the command reports what
matters once, as an error of its own. Their messages show with ``verbose``."""

_KAFKA_CLIENT = "aiokafka"
"""The library whose errors tell whether Kafka answers (:class:`KafkaNoise`)."""

_HANDLER_MARK = "_gateway_handler"
_verbose = False
log = logging.getLogger("gateway.kafka")


class KafkaReachability:
    """Whether Kafka answers, as far as the Kafka client's own errors tell (fed by
    :class:`KafkaNoise`): unreachable from an error until ``quiet_s`` pass without one."""

    def __init__(self, quiet_s: float = 10.0) -> None:
        self.quiet_s = quiet_s
        self.errors = 0
        self.last_error: float | None = None
        self.last_error_text = ""

    def error(self, text: str) -> None:
        self.errors += 1
        self.last_error = time.monotonic()
        self.last_error_text = text

    @property
    def reachable(self) -> bool:
        last = self.last_error
        return last is None or time.monotonic() - last > self.quiet_s


KAFKA = KafkaReachability()
"""The process's one view of Kafka's reachability."""


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
    """A handler filter for the Kafka client's warnings and errors: counted into ``kafka``,
    shown only if ``show_client`` and then at most once per ``every_s``; Kafka's being
    unreachable said once, in the gateway's words, after :meth:`announce`."""

    def __init__(self, kafka: KafkaReachability = KAFKA, every_s: float = 30.0) -> None:
        super().__init__()
        self._kafka = kafka
        self._every = every_s
        self._last_shown = -float("inf")
        self._held = 0
        self._unreachable = False
        self._announcing = False
        self.show_client = False

    def announce(self) -> None:
        """From now on say so when Kafka becomes unreachable (called by a process that has
        reached Kafka and keeps running: the gateway). Before, a Kafka that cannot be reached
        is the failing command's own one-line error, and saying it twice would be noise."""
        self._announcing = True

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(_KAFKA_CLIENT) or record.levelno < logging.WARNING:
            return True
        if record.levelno >= logging.ERROR:
            text = record.getMessage()
            self._kafka.error(text)
            if self._announcing and not self._unreachable:
                self._unreachable = True
                log.error(
                    "Kafka unreachable: %s (the client's own errors %s)",
                    text,
                    f"follow at most once every {self._every:.0f}s"
                    if self.show_client
                    else "show with --verbose",
                )
                self._last_shown = time.monotonic()
                return False
        now = time.monotonic()
        if not self.show_client or now - self._last_shown < self._every:
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
    verbose: bool = False,
    log_format: LogFormat = "text",
    instance: str | None = None,
    *,
    level: int = logging.INFO,
    stream: TextIO | None = None,
) -> None:
    """Log lines (:data:`LINE_FORMAT`, or JSON naming ``instance``) on ``stream`` (stderr)
    from ``level`` up (DEBUG when ``verbose``); the libraries in :data:`QUIET_LIBRARIES` only
    from CRITICAL unless ``verbose``, except the Kafka client's errors, which :data:`NOISE`
    counts and holds back. Calling it again replaces the earlier set-up; handlers others
    installed (a test's log capture, for one) stay."""
    global _verbose
    _verbose = verbose
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False):
            root.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(
        JsonFormatter(instance) if log_format == "json" else logging.Formatter(LINE_FORMAT)
    )
    NOISE.show_client = verbose
    handler.addFilter(NOISE)
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else level)
    for name in QUIET_LIBRARIES:
        quiet = logging.ERROR if name == _KAFKA_CLIENT else logging.CRITICAL
        logging.getLogger(name).setLevel(logging.WARNING if verbose else quiet)


def is_verbose() -> bool:
    """Whether the running command was asked for ``--verbose`` (errors then show tracebacks)."""
    return _verbose
