"""What every request handler of the console reaches: its configuration, templates, snapshots."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from gateway.console.charts import OUTCOME_COLOURS
from gateway.console.live import LiveSnapshots
from gateway.console.users import Role, User, Users
from gateway.settings import DEFAULT_DEPARTMENTS

__all__ = ["ConsoleConfig", "ConsoleState", "csrf_token", "state_of"]

_CSRF = "csrf"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get(_CSRF)
    if not isinstance(token, str):
        token = request.session[_CSRF] = secrets.token_urlsafe(32)
    return token


def state_of(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    """Everything the console reads, and who may sign in."""

    users: Users
    secret: str
    """Signs session cookies."""
    bootstrap: str | None = None
    prefix: str = "dx"
    groups: Sequence[str] = ("dx-gateway",)
    departments: Sequence[str] = DEFAULT_DEPARTMENTS
    audit_db: str = "sqlite:///audit.db"
    policies_dir: Path = Path("policies")
    subject_key_secret: str = "dev-only-subject-key-change-me"
    public_key: Ed25519PublicKey | None = None
    """Verifies audit checkpoints; None: ``config/audit-signing.pub``."""
    refresh_s: float = 2.0
    https_only: bool = False
    """Mark the session cookie Secure (behind TLS)."""


@dataclass(slots=True)
class ConsoleState:
    """What every request handler reaches through ``request.app.state.console``."""

    config: ConsoleConfig
    templates: Jinja2Templates
    live: LiveSnapshots
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def users(self) -> Users:
        return self.config.users

    def render(
        self,
        request: Request,
        name: str,
        user: User | None,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> Response:
        """A page, with what every page shows: who is signed in, where to go, the CSRF token."""
        nav = [("/", "Overview", Role.OPERATOR)]
        nav += [
            ("/register", "Register", Role.COMPLIANCE),
            ("/decisions", "Decisions", Role.COMPLIANCE),
            ("/subject", "Subject access", Role.COMPLIANCE),
            ("/integrity", "Audit integrity", Role.COMPLIANCE),
        ]
        allowed = [(href, label) for href, label, role in nav if user and user.role.may(role)]
        return self.templates.TemplateResponse(
            request,
            name,
            {
                "user": user,
                "nav": allowed,
                "csrf": csrf_token(request),
                "config": self.config,
                "colours": OUTCOME_COLOURS,
                "path": request.url.path,
                **(context or {}),
            },
            status_code=status_code,
            headers={"Cache-Control": "no-store"},
        )
