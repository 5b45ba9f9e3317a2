"""Signing in and out of the console."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.console.access import csrf_problem, current_user, forbidden, sign_in, sign_out
from gateway.console.state import state_of

__all__ = ["login", "logout"]

log = logging.getLogger("gateway.console")


async def login(request: Request) -> Response:
    """The sign-in form (GET) and the sign-in itself (POST, with the form's CSRF token)."""
    console = state_of(request)
    target = _safe_next(request.query_params.get("next"))
    if request.method == "GET":
        return console.render(request, "login.html", current_user(request), {"next": target})
    if problem := await csrf_problem(request):
        return forbidden(request, None, f"Refused: {problem}. Reload the page and retry.")
    form = await request.form()
    name, password = str(form.get("username", "")), str(form.get("password", ""))
    user = await asyncio.to_thread(console.users.authenticate, name, password)
    if user is None:
        log.info("console: failed sign-in for %r", name[:64])
        return console.render(
            request,
            "login.html",
            None,
            {"next": target, "error": "Unknown user or wrong password."},
            status_code=401,
        )
    sign_in(request, user)
    log.info("console: %s signed in (%s)", user.name, user.role.value)
    return RedirectResponse(_safe_next(str(form.get("next", ""))) or "/", status_code=303)


async def logout(request: Request) -> Response:
    if problem := await csrf_problem(request):
        return forbidden(request, current_user(request), f"Refused: {problem}.")
    sign_out(request)
    return RedirectResponse("/login", status_code=303)


def _safe_next(target: str | None) -> str:
    """Only paths of this console: never another site (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return ""
    return target
