"""Every broker setting the project's Kafka nodes run with, in one place.

Kafka's defaults suit a production cluster of at least three machines; on one host and in tests
they make a node slow to start and large (1 GiB heap, 50 partitions per internal topic, a 3 s delay
before the first group rebalance, replication factor 3 for internal topics). These settings keep
a node small and quick while leaving the guarantees under test (acks, ISR, transactions) intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.cluster.security import ClusterSecurity

__all__ = ["JVM_OPTIONS", "NodeSpec", "log4j2_properties", "node_properties"]

JVM_OPTIONS = (
    "-Xms64m",
    "-Xmx384m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
)
"""A modest heap and a quick JIT: a node starts in a few seconds on two cores, ~400 MB RSS."""

_ALWAYS = {
    "inter.broker.listener.name": "PLAINTEXT",
    "controller.listener.names": "CONTROLLER",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "offsets.topic.num.partitions": "4",
    "transaction.state.log.num.partitions": "4",
    # No wait before the first rebalance, and sessions as short as tests want them.
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "500",
    "group.consumer.min.session.timeout.ms": "1000",
    "group.consumer.min.heartbeat.interval.ms": "200",
    # Transactions of a killed producer are aborted within seconds, not minutes.
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "500",
    "transaction.max.timeout.ms": "900000",
    # Small segments so retention tests can delete data quickly; retention checks every second.
    "log.segment.bytes": str(1024 * 1024),
    "log.retention.check.interval.ms": "1000",
    "log.initial.task.delay.ms": "0",
    "log.segment.delete.delay.ms": "0",
    "log.cleaner.dedupe.buffer.size": str(2 * 1024 * 1024),
    "log.cleaner.threads": "1",
    "num.network.threads": "2",
    "num.io.threads": "2",
    "background.threads": "2",
    "num.partitions": "4",
    "auto.create.topics.enable": "false",
}


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One combined broker/controller node on this host."""

    node_id: int
    host: str
    port: int
    controller_port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def node_properties(
    node: NodeSpec,
    cluster: tuple[NodeSpec, ...],
    data_dir: Path,
    extra: dict[str, str] | None = None,
    security: ClusterSecurity | None = None,
) -> dict[str, str]:
    """``server.properties`` for ``node`` in ``cluster`` (one node, or three for replication);
    with ``security``, clients log in with SASL/SCRAM and ACLs decide (see
    :mod:`gateway.cluster.security`)."""
    replicas = min(len(cluster), 3)
    properties = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": ",".join(
            f"{n.node_id}@{n.host}:{n.controller_port}" for n in cluster
        ),
        "listeners": f"PLAINTEXT://{node.address},CONTROLLER://{node.host}:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{node.address}",
        "log.dirs": str(data_dir),
        "offsets.topic.replication.factor": str(replicas),
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": str(max(1, replicas - 1)),
        "share.coordinator.state.topic.replication.factor": str(replicas),
        "share.coordinator.state.topic.min.isr": str(max(1, replicas - 1)),
        "default.replication.factor": str(replicas),
        "min.insync.replicas": str(max(1, replicas - 1)),
        **_ALWAYS,
    }
    if security is not None:
        properties.update(security.listeners(node.host, node.port, node.controller_port))
        properties.update(security.broker_properties())
    properties.update(extra or {})
    return properties


def log4j2_properties(log_file: Path) -> str:
    """A log4j2 configuration writing the node's log to ``log_file`` (INFO, Kafka's own WARN+)."""
    return "\n".join(
        [
            "status = warn",
            "appender.file.type = File",
            "appender.file.name = file",
            f"appender.file.fileName = {log_file}",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = info",
            "rootLogger.appenderRef.file.ref = file",
            "logger.state.name = state.change.logger",
            "logger.state.level = warn",
            "",
        ]
    )
