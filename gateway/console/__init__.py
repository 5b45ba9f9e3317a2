"""The operator and compliance console: web pages over snapshots and the audit store.

:func:`create_app` builds the web application from a :class:`ConsoleConfig`; :func:`load_users`
reads the operators' accounts, whose passwords :func:`hash_password` hashes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway._exports import lazy_exports

if TYPE_CHECKING:
    from gateway.console.app import create_app
    from gateway.console.state import ConsoleConfig
    from gateway.console.users import DEV_USERS_PATH, hash_password, load_users

__all__ = ["DEV_USERS_PATH", "ConsoleConfig", "create_app", "hash_password", "load_users"]

__getattr__ = lazy_exports(
    __name__,
    {
        "DEV_USERS_PATH": "users",
        "ConsoleConfig": "state",
        "create_app": "app",
        "hash_password": "users",
        "load_users": "users",
    },
)
"""Imported on first use: hashing a password need not load the web framework."""
