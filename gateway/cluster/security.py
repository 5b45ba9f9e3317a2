"""A project-started Kafka cluster with authentication and authorisation switched on.

Clients reach the nodes on one ``SASL_PLAINTEXT`` listener and log in with SCRAM-SHA-512; the
credentials are written into the metadata log when the storage is formatted (``kafka-storage
format --add-scram``), so they exist before the first node starts. The controllers talk over
their own listener with SASL/PLAIN and a static admin login (KRaft controllers cannot use SCRAM:
its credentials live in the very metadata log they serve). Kafka's own ``StandardAuthorizer``
decides every request, denying what no ACL allows; only the admin principal (the brokers
themselves, and whoever applies the ACLs) is a super user.

Plain text on loopback, for tests and local runs: production adds TLS (``SASL_SSL``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ClusterSecurity"]

CLIENT_LISTENER = "SASL_PLAINTEXT"
"""Name (and security protocol) of the listener clients use."""
SCRAM_MECHANISM = "SCRAM-SHA-512"
_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
_SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"
_PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule"


def _quoted(value: str) -> str:
    if '"' in value or "\\" in value:
        raise ValueError("user names and passwords may not contain quotes or backslashes")
    return f'"{value}"'


@dataclass(frozen=True, slots=True)
class ClusterSecurity:
    """SCRAM users (name to password), of which ``admin`` is the one super user."""

    users: Mapping[str, str]
    admin: str = "admin"
    allow_if_no_acl: bool = False
    """``allow.everyone.if.no.acl.found``: off, so whatever no ACL allows is refused."""
    extra_super_users: tuple[str, ...] = ()
    """Further principals (user names) every request is allowed to."""

    def __post_init__(self) -> None:
        if self.admin not in self.users:
            raise ValueError(f"the admin user {self.admin!r} needs a password in users")
        for name, password in self.users.items():
            if not name or not password or "," in name + password or "]" in name + password:
                raise ValueError(f"user {name!r}: names and passwords must be plain and non-empty")
            _quoted(name)
            _quoted(password)

    def password(self, user: str) -> str:
        return self.users[user]

    # --- broker side ----------------------------------------------------------------------------

    def listeners(self, host: str, port: int, controller_port: int) -> dict[str, str]:
        """``listeners`` and ``advertised.listeners`` for one node."""
        return {
            "listeners": f"{CLIENT_LISTENER}://{host}:{port},CONTROLLER://{host}:{controller_port}",
            "advertised.listeners": f"{CLIENT_LISTENER}://{host}:{port}",
        }

    def broker_properties(self) -> dict[str, str]:
        """The settings every node adds: SASL on both listeners, the authoriser, super users."""
        admin, password = _quoted(self.admin), _quoted(self.password(self.admin))
        supers = ";".join(f"User:{u}" for u in (self.admin, *self.extra_super_users))
        client = CLIENT_LISTENER.lower()
        return {
            "listener.security.protocol.map": (
                f"CONTROLLER:SASL_PLAINTEXT,{CLIENT_LISTENER}:SASL_PLAINTEXT"
            ),
            "inter.broker.listener.name": CLIENT_LISTENER,
            "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
            f"listener.name.{client}.sasl.enabled.mechanisms": SCRAM_MECHANISM,
            f"listener.name.{client}.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": (
                f"{_SCRAM_LOGIN} required username={admin} password={password};"
            ),
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": (
                f"{_PLAIN_LOGIN} required username={admin} password={password} "
                f"user_{self.admin}={password};"
            ),
            "authorizer.class.name": _AUTHORIZER,
            "super.users": supers,
            "allow.everyone.if.no.acl.found": str(self.allow_if_no_acl).lower(),
        }

    def format_arguments(self) -> list[str]:
        """``kafka-storage format`` arguments that create every user's SCRAM credential."""
        arguments = []
        for name, password in self.users.items():
            arguments += ["--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={password}]"]
        return arguments

    # --- client side ----------------------------------------------------------------------------

    def librdkafka_config(self, user: str | None = None) -> dict[str, str]:
        """confluent-kafka (librdkafka) settings to log in as ``user`` (None: the admin)."""
        user = user or self.admin
        return {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": SCRAM_MECHANISM,
            "sasl.username": user,
            "sasl.password": self.password(user),
        }

    def aiokafka_options(self, user: str) -> dict[str, Any]:
        """Keyword arguments for an aiokafka producer, consumer or admin client as ``user``."""
        return {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": SCRAM_MECHANISM,
            "sasl_plain_username": user,
            "sasl_plain_password": self.password(user),
        }
