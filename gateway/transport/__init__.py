"""Kafka at the edge: the runner that drives the exchange core, and the clients around it.

:class:`GatewayRunner` consumes the input topics in batches, has the
:class:`~gateway.exchange.ExchangeProcessor` decide them, writes the routed outputs and audit
records, and commits the input offsets only once those are acknowledged. :class:`TopicNames`
names every gateway topic; :func:`export_audit` and :func:`read_audit_log` read the audit topic
back; :func:`gateway_acls` lists the ACLs a secured cluster needs. The embedded development
broker lives in :mod:`gateway.embedded.broker`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway._exports import lazy_exports

if TYPE_CHECKING:
    from gateway.transport.acls import Acl, gateway_acls, kafka_acls_script
    from gateway.transport.audit_log import export_audit, read_audit_log
    from gateway.transport.closing import stop_client
    from gateway.transport.produce import send_and_wait_all
    from gateway.transport.read_back import last_records, read_to_ends
    from gateway.transport.runner import GatewayRunner, RunnerStats
    from gateway.transport.topics import READ_COMMITTED, TopicNames

__all__ = [
    "READ_COMMITTED",
    "Acl",
    "GatewayRunner",
    "RunnerStats",
    "TopicNames",
    "export_audit",
    "gateway_acls",
    "kafka_acls_script",
    "last_records",
    "read_audit_log",
    "read_to_ends",
    "send_and_wait_all",
    "stop_client",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "READ_COMMITTED": "topics",
        "Acl": "acls",
        "GatewayRunner": "runner",
        "RunnerStats": "runner",
        "TopicNames": "topics",
        "export_audit": "audit_log",
        "gateway_acls": "acls",
        "kafka_acls_script": "acls",
        "last_records": "read_back",
        "read_audit_log": "audit_log",
        "read_to_ends": "read_back",
        "send_and_wait_all": "produce",
        "stop_client": "closing",
    },
)
"""Imported on first use, so that importing a light module of the package (``topics``, say)
does not load the runner and aiokafka with it."""
