"""Shared CLI plumbing: settings from options, and stopping on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.errors import ConfigError
from gateway.settings import GatewaySettings

__all__ = ["load_settings", "stop_on_signals"]


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


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, for a clean shutdown; call inside the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
