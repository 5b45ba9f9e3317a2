"""The console as a Starlette application: :func:`create_app` from a :class:`ConsoleConfig`.

Server-rendered pages (Jinja2 templates in ``templates/``), one small script and one style sheet
(``static/``), nothing fetched from elsewhere. The overview updates itself from server-sent
events carrying the latest cluster snapshot, rendered.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from gateway.console import compliance, overview, signin
from gateway.console.live import LiveSnapshots
from gateway.console.state import ConsoleConfig, ConsoleState

__all__ = ["ConsoleConfig", "create_app"]

log = logging.getLogger("gateway.console")

_HERE = Path(__file__).resolve().parent
SESSION_MAX_AGE_S = 8 * 3600


def create_app(config: ConsoleConfig) -> Starlette:
    """The console application; the cluster is read in the background while it runs."""
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.filters["stamp"] = _stamp
    live = LiveSnapshots(
        config.bootstrap, prefix=config.prefix, groups=config.groups, interval=config.refresh_s
    )
    state = ConsoleState(config, templates, live)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await live.start()
        try:
            yield
        finally:
            await live.stop()

    routes = [
        Route("/login", signin.login, methods=["GET", "POST"]),
        Route("/logout", signin.logout, methods=["POST"]),
        *overview.ROUTES,
        *compliance.ROUTES,
        Mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=config.secret,
                session_cookie="dx_console",
                max_age=SESSION_MAX_AGE_S,
                same_site="strict",
                https_only=config.https_only,
            )
        ],
    )
    app.state.console = state
    return app


def _stamp(value: datetime | None, seconds: bool = True) -> str:
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
