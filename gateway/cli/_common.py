"""Shared CLI plumbing: settings from options, misspelled ``GATEWAY_*`` variables warned about,
and stopping on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import difflib
import logging
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.errors import ConfigError
from gateway.settings import GatewaySettings

__all__ = [
    "load_settings",
    "stop_on_signals",
    "warn_unknown_variables",
]

OTHER_VARIABLES = frozenset(
    {
        "GATEWAY_KAFKA_HOME",  # gateway kafka: where Apache Kafka's jars are kept
        "GATEWAY_TEST_BROKER",  # the test suite's broker choice
        "GATEWAY_TEST_KAFKA_BOOTSTRAP",
        "GATEWAY_TEST_POSTGRES_URL",
    }
)
"""``GATEWAY_*`` variables read outside the settings object."""

log = logging.getLogger("gateway")


def load_settings(**overrides: Any) -> GatewaySettings:
    """Settings from ``GATEWAY_*`` variables, with command-line options (when given) on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    for key in ("policies_dir", "schemas_dir"):
        if key in given:
            given[key] = Path(given[key])
    try:
        return GatewaySettings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """``GATEWAY_*`` names in the environment that no setting and no tool reads."""
    environ = os.environ if environ is None else environ
    known = {f"GATEWAY_{name.upper()}" for name in GatewaySettings.model_fields} | OTHER_VARIABLES
    return sorted(n for n in environ if n.upper().startswith("GATEWAY_") and n.upper() not in known)


def warn_unknown_variables(environ: Mapping[str, str] | None = None) -> None:
    """Warn about misspelled settings, which would otherwise be ignored silently."""
    for name in unknown_variables(environ):
        close = difflib.get_close_matches(
            name.upper(), [f"GATEWAY_{f.upper()}" for f in GatewaySettings.model_fields], n=1
        )
        hint = f" (did you mean {close[0]}?)" if close else ""
        log.warning("unknown setting %s is ignored%s", name, hint)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, for a clean shutdown; call inside the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
