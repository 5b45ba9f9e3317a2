"""What the console tests share: the browser's flags, the test users' passwords, where
screenshots go, a signed-in HTTP client."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PASSWORDS = {"olive": "operator-test-password", "carla": "compliance-test-password"}
"""``olive`` is an operator, ``carla`` a compliance officer."""
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

ConsoleFactory = Callable[..., Awaitable[str]]


@asynccontextmanager
async def signed_in(base: str, name: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client signed in as ``name`` (who has one of the test passwords)."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        form = await client.get("/login")
        response = await client.post(
            "/login",
            data={"csrf_token": csrf(form.text), "username": name, "password": PASSWORDS[name]},
        )
        assert response.status_code == 303, response.text
        yield client


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)
