"""Console users: names, roles and scrypt password hashes from a YAML or TOML file.

A hash reads ``scrypt$N$r$p$<salt>$<key>`` (salt and key in unpadded base64url), so its cost
travels with it and can be raised later without invalidating older hashes. ``gateway console
hash-password`` makes one.

Roles: ``operator`` sees the overview (decisions, lag, dead letters, audit chain status);
``compliance`` sees that and the register, decision search, subject access reports and audit
integrity checks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import ConfigError

__all__ = [
    "DEV_USERS_PATH",
    "Role",
    "User",
    "Users",
    "hash_password",
    "load_users",
]

DEV_USERS_PATH = Path(__file__).resolve().parents[2] / "config" / "console-users.dev.yaml"
"""Development users with published passwords (see ``config/README.md``)."""

_SCHEME = "scrypt"
_N, _R, _P = 2**14, 8, 1
_SALT_BYTES, _KEY_BYTES = 16, 32
_MAX_N = 2**20


class Role(StrEnum):
    OPERATOR = "operator"
    COMPLIANCE = "compliance"

    def may(self, needed: Role) -> bool:
        """Whether this role may see what ``needed`` may: compliance sees everything."""
        return self is Role.COMPLIANCE or needed is Role.OPERATOR


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    password_hash: str


def hash_password(password: str, *, n: int = _N, r: int = _R, p: int = _P) -> str:
    """A salted scrypt hash of ``password`` in the form :func:`verify_password` reads."""
    if not password:
        raise ConfigError("an empty password cannot be hashed")
    salt = os.urandom(_SALT_BYTES)
    key = _scrypt(password, salt, n, r, p)
    return f"{_SCHEME}${n}${r}${p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (compared in constant time)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != _SCHEME or not 1 < int(n) <= _MAX_N:
            return False
        expected = _unb64(key)
        found = _scrypt(password, _unb64(salt), int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, expected)


_DUMMY_HASH = f"{_SCHEME}${_N}${_R}${_P}${'A' * 22}${'A' * 43}"
"""A well-formed hash of the usual cost, checked against when the name is unknown."""


class Users:
    """The users a console accepts."""

    def __init__(self, users: Mapping[str, User], source: str) -> None:
        self._users = dict(users)
        self.source = source

    def __len__(self) -> int:
        return len(self._users)

    def get(self, name: str) -> User | None:
        return self._users.get(name)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user whose name and password these are, else None. An unknown name costs as
        much time as a known one, so timing does not tell which names exist."""
        user = self._users.get(name)
        matched = verify_password(password, user.password_hash if user else _DUMMY_HASH)
        return user if user is not None and matched else None


def load_users(path: Path | str) -> Users:
    """Users from a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file::

    users:
      - name: alice
        role: compliance
        password_hash: scrypt$16384$8$1$...$...
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read console users file {source}: {exc.strerror}") from None
    try:
        document: Any = tomllib.loads(text) if source.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        kind = "TOML" if source.suffix == ".toml" else "YAML"
        raise ConfigError(f"{source} is not valid {kind}: {exc}") from None
    entries = document.get("users") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source} must hold a non-empty 'users' list")
    users: dict[str, User] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"{source} user {number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} is not a mapping")
        name, role, hashed = entry.get("name"), entry.get("role"), entry.get("password_hash")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where} has no name")
        if role not in {r.value for r in Role}:
            raise ConfigError(f"{where} ({name}): role must be operator or compliance")
        if not isinstance(hashed, str) or not hashed.startswith(f"{_SCHEME}$"):
            raise ConfigError(
                f"{where} ({name}): password_hash must be a scrypt hash "
                "(make one with `gateway console hash-password`)"
            )
        if name in users:
            raise ConfigError(f"{where}: user {name} is listed twice")
        users[name] = User(name, Role(role), hashed)
    return Users(users, str(source))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int = _KEY_BYTES) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * r * (n + p + 2), dklen=length
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
