"""Who may see what: sign-in, roles per route, and a CSRF token on every form.

The session (a cookie signed with ``GATEWAY_CONSOLE_SECRET``) holds the user's name and a random
CSRF token. Every route says which role it needs (:func:`page`); a POST is refused unless its
form carries the session's token, checked before the handler runs. The user is looked up again
on every request, so one removed from the users file is signed out at the next restart.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.console.state import csrf_token, state_of
from gateway.console.users import Role, User

__all__ = ["Handler", "csrf_token", "current_user", "forbidden", "page"]

CSRF_FIELD = "csrf_token"
_USER = "user"
_CSRF = "csrf"

Handler = Callable[[Request, User], Awaitable[Response]]


def current_user(request: Request) -> User | None:
    name = request.session.get(_USER)
    if not isinstance(name, str):
        return None
    return state_of(request).users.get(name)


def sign_in(request: Request, user: User) -> None:
    """A new session for ``user`` (and a new CSRF token), so no token outlives a sign-in."""
    request.session.clear()
    request.session[_USER] = user.name
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


async def csrf_problem(request: Request) -> str | None:
    """Why this POST's form cannot be trusted, or None when its CSRF token is the session's."""
    form = await request.form()  # Starlette keeps it: the handler reads the same form
    given = form.get(CSRF_FIELD)
    expected = request.session.get(_CSRF)
    if not isinstance(given, str) or not given:
        return "the form has no security token"
    if not isinstance(expected, str) or not hmac.compare_digest(given, expected):
        return "the form's security token does not match this session"
    return None


def forbidden(request: Request, user: User | None, why: str) -> Response:
    return state_of(request).render(request, "forbidden.html", user, {"why": why}, status_code=403)


def page(needs: Role) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A route for users whose role may see what ``needs`` may; POSTs need the CSRF token."""

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            user = current_user(request)
            if user is None:
                if request.method == "GET":
                    target = quote(request.url.path, safe="/")
                    return RedirectResponse(f"/login?next={target}", status_code=303)
                return forbidden(request, None, "Sign in first.")
            if not user.role.may(needs):
                return forbidden(
                    request, user, f"This page is for the {needs.value} role; you are signed in "
                    f"as {user.name} ({user.role.value})."
                )  # fmt: skip
            if request.method == "POST" and (problem := await csrf_problem(request)):
                return forbidden(request, user, f"Refused: {problem}. Reload the page and retry.")
            return await handler(request, user)

        endpoint.needs = needs  # type: ignore[attr-defined]
        return endpoint

    return decorate


def needed_role(endpoint: Any) -> Role | None:
    """The role a route was declared with (None for public ones such as sign-in)."""
    role = getattr(endpoint, "needs", None)
    return role if isinstance(role, Role) else None
