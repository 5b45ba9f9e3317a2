"""What the console tests share: the browser's flags, the test users' passwords, where
screenshots go."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PASSWORDS = {"olive": "operator-test-password", "carla": "compliance-test-password"}
"""``olive`` is an operator, ``carla`` a compliance officer."""
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

ConsoleFactory = Callable[..., Awaitable[str]]
