"""Department-side services that the gateway's tools run but do not contain.

``gateway departments``, the demo and the chaos campaign need provider departments that answer
their inboxes. Those services are built on the gateway's library, not part of it (the faust
reference departments in ``consumers``): a distribution offers one under the entry-point group
:data:`ENTRY_POINT_GROUP`, and :func:`department_services` loads it. So dependencies run one
way: the services import the gateway, the gateway finds the services only by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from importlib.metadata import entry_points
from typing import Protocol, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.errors import ConfigError
from gateway.keys import KeySource
from gateway.transport.topics import TopicNames

__all__ = ["DEFAULT_SERVICES", "ENTRY_POINT_GROUP", "DepartmentServices", "department_services"]

ENTRY_POINT_GROUP = "dx_gateway.department_services"
DEFAULT_SERVICES = "reference"
"""The faust reference departments (``consumers.departments``, the ``departments`` extra)."""


class DepartmentServices(Protocol):
    """Provider departments that answer ``dx.inbox.<dept>`` on ``dx.responses.<dept>``."""

    topic_partitions: int
    """Partitions of each topic :meth:`extra_topics` names."""

    def extra_topics(self, depts: Iterable[str], topics: TopicNames) -> list[str]:
        """Topics the services of ``depts`` need besides the gateway's; create them first."""
        ...

    async def run(
        self,
        bootstrap: str,
        depts: Sequence[str],
        stop: asyncio.Event,
        *,
        topics: TopicNames,
        dataset_size: int,
        seed: int,
        ready: asyncio.Event | None = None,
        gateway_key: Ed25519PublicKey | KeySource | None = None,
    ) -> dict[str, int]:
        """Answer from ``generate(dept, dataset_size, seed)`` until ``stop`` is set; ``ready``
        is set once every service has started; ``gateway_key``: the public key inbox messages
        must be signed with (None: the shipped one). Returns how many each answered."""
        ...


def department_services(name: str = DEFAULT_SERVICES) -> DepartmentServices:
    """The installed department services called ``name``; a :class:`ConfigError` in one line
    when none is installed or what it needs is not (such as faust, without its extra)."""
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        raise ConfigError(
            f"no department services {name!r} are installed "
            f"(entry point group {ENTRY_POINT_GROUP}): pip install 'dx-gateway[departments]'"
        )
    try:
        return cast(DepartmentServices, found[name].load())
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"the department services {name!r} need {exc.name!r}, which is not installed: "
            "pip install 'dx-gateway[departments]'"
        ) from exc
