"""One logging set-up for every command: the same line format on stderr, the same quiet libraries.

Every ``gateway`` command (and ``python -m consumers.*``, which run the same commands) calls
:func:`configure_logging` once before it starts work. ``verbose`` lowers the gateway's level to
DEBUG, lets the Kafka and faust libraries speak from WARNING, and makes the CLI print a
traceback beside its one-line error (:func:`is_verbose`). Other output forms extend this
module: add a keyword argument and a formatter here, not a second set-up elsewhere.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

__all__ = ["LINE_FORMAT", "QUIET_LIBRARIES", "configure_logging", "is_verbose"]

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
"""Every command's log line: time, level, logger, message."""

QUIET_LIBRARIES = ("aiokafka", "kafka", "faust", "mode", "uvicorn.error")
"""Libraries that log each failed connection or retry themselves; the command reports what
matters once, as an error of its own. Their messages show with ``verbose``."""

_HANDLER_MARK = "_gateway_handler"
_verbose = False


def configure_logging(
    verbose: bool = False, *, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Log lines in :data:`LINE_FORMAT` on ``stream`` (stderr) from ``level`` up (DEBUG when
    ``verbose``); the libraries in :data:`QUIET_LIBRARIES` only from CRITICAL unless
    ``verbose``. Calling it again replaces the earlier set-up; handlers others installed (a
    test's log capture, for one) stay."""
    global _verbose
    _verbose = verbose
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter(LINE_FORMAT))
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING if verbose else logging.CRITICAL)


def is_verbose() -> bool:
    """Whether the running command was asked for ``--verbose`` (errors then show tracebacks)."""
    return _verbose
