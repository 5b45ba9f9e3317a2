"""Topic administration through the Kafka admin protocol, for any Kafka cluster.

Used for the clusters the project starts and for one given by address (tests on an existing
cluster, the testcontainers path): create topics and wait for their leaders, change topic
settings, make a topic unwritable for fail-closed tests, and create ACLs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from gateway.errors import BrokerError
from gateway.transport.acls import Acl

__all__ = ["KafkaAdmin"]

_OPERATIONS = {"IdempotentWrite": "IDEMPOTENT_WRITE"}
_RESOURCES = {"cluster": "BROKER", "transactional-id": "TRANSACTIONAL_ID"}
"""Kafka's names that librdkafka spells otherwise than in upper case."""


class KafkaAdmin:
    """Admin operations on the cluster at ``bootstrap`` (topics replicated ``replicas`` times);
    ``config``: further librdkafka settings, such as a SASL login."""

    def __init__(
        self, bootstrap: str, *, replicas: int = 1, config: Mapping[str, str] | None = None
    ) -> None:
        try:
            from confluent_kafka.admin import AdminClient
        except ImportError as exc:
            raise BrokerError(
                "Kafka administration needs the confluent-kafka package: "
                "pip install 'dx-gateway[local-kafka]'"
            ) from exc

        self.bootstrap = bootstrap
        self.replicas = replicas
        # Kept for the object's life: its futures fail once the client is collected.
        self._client: Any = AdminClient(
            {"bootstrap.servers": bootstrap, "log_level": 0, **(config or {})}
        )

    def create_topics(
        self,
        names: Iterable[str],
        partitions: int | None = None,
        *,
        config: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Create topics (existing ones are left as they are) and wait until each has leaders."""
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import NewTopic

        wanted = list(dict.fromkeys(names))
        if not wanted:
            return []
        futures = self._client.create_topics(
            [
                NewTopic(n, partitions or 4, self.replicas, config=dict(config or {}))
                for n in wanted
            ],
            operation_timeout=30,
        )
        for name, future in futures.items():
            try:
                future.result(timeout=60)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise BrokerError(f"cannot create topic {name}: {exc}") from exc
        self._wait_for_leaders(wanted)
        return wanted

    def set_topic_config(self, topic: str, values: Mapping[str, str | None]) -> None:
        """Change (or, with ``None``, reset to the broker default) settings of one topic."""
        from confluent_kafka.admin import (
            AlterConfigOpType,
            ConfigEntry,
            ConfigResource,
            ResourceType,
        )

        entries = [
            ConfigEntry(
                key,
                value or "",
                incremental_operation=(
                    AlterConfigOpType.DELETE if value is None else AlterConfigOpType.SET
                ),
            )
            for key, value in values.items()
        ]
        resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
        for future in self._client.incremental_alter_configs([resource]).values():
            future.result(timeout=30)

    def block_writes(self, topic: str) -> None:
        """Make ``topic`` refuse every write the gateway makes: a 128-byte batch limit.

        The broker's own transaction markers (about 80 bytes) still fit, so transactions that
        touched the topic can be aborted and their producers restarted; at a 1-byte limit the
        markers are refused and the transactional id stays blocked after writes are allowed
        again. (Raising ``min.insync.replicas`` above the replication factor does not block
        anything: on Kafka 4.4 a one-replica topic with ``min.insync.replicas=2`` still took
        ``acks=all`` writes.)
        """
        self.set_topic_config(topic, {"max.message.bytes": "128"})

    def allow_writes(self, topic: str) -> None:
        """Undo :meth:`block_writes`."""
        self.set_topic_config(topic, {"max.message.bytes": None})

    def limit_retention(self, topic: str, max_bytes: int | None) -> None:
        """Keep about ``max_bytes`` per partition: small segments, deleted beyond the limit.

        ``None`` lifts the limit: the broker's defaults again, and nothing more is deleted."""
        if max_bytes is None:
            self.set_topic_config(topic, {"retention.bytes": None, "segment.bytes": None})
            return
        self.set_topic_config(
            topic,
            {
                "retention.bytes": str(max_bytes),
                "segment.bytes": str(max(max_bytes // 4, 1024 * 1024)),
            },
        )

    def create_acls(self, acls: Iterable[Acl]) -> int:
        """Create "allow" ACLs (from any host; existing ones stay); how many bindings were made."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import (
            AclBinding,
            AclOperation,
            AclPermissionType,
            ResourcePatternType,
            ResourceType,
        )

        bindings = [
            AclBinding(
                ResourceType[_RESOURCES.get(acl.resource.value, acl.resource.value.upper())],
                acl.name,
                ResourcePatternType.PREFIXED if acl.prefixed else ResourcePatternType.LITERAL,
                f"User:{acl.user}",
                "*",
                AclOperation[_OPERATIONS.get(operation, operation.upper())],
                AclPermissionType.ALLOW,
            )
            for acl in acls
            for operation in acl.operations
        ]
        if not bindings:
            return 0
        for binding, future in self._client.create_acls(bindings, request_timeout=30).items():
            try:
                future.result(timeout=60)
            except KafkaException as exc:
                raise BrokerError(f"cannot create ACL {binding}: {exc}") from exc
        self._wait_for_acls(set(bindings))
        return len(bindings)

    def _wait_for_acls(self, bindings: set[Any], timeout: float = 30.0) -> None:
        """Wait until the broker answering lists every binding: the controller has them at once,
        a broker's authoriser only once it has applied the metadata (about a second later)."""
        from confluent_kafka.admin import (
            AclBindingFilter,
            AclOperation,
            AclPermissionType,
            ResourcePatternType,
            ResourceType,
        )

        anything: Any = None  # a filter's "match any" (the type hints ask for a string)
        everything = AclBindingFilter(
            ResourceType.ANY,
            anything,
            ResourcePatternType.ANY,
            anything,
            anything,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        deadline = time.monotonic() + timeout
        while True:
            listed = set(self._client.describe_acls(everything, request_timeout=10).result())
            if bindings <= listed:
                return
            if time.monotonic() > deadline:
                raise BrokerError(f"{len(bindings - listed)} ACL(s) not in force after {timeout} s")
            time.sleep(0.1)

    def live_brokers(self) -> list[int]:
        """Ids of the brokers the cluster's metadata lists now."""
        try:
            metadata = self._client.list_topics(timeout=5)
        except Exception as exc:  # librdkafka raises its own KafkaException
            raise BrokerError(f"no metadata from {self.bootstrap}: {exc}") from exc
        return sorted(metadata.brokers)

    def leaders(self, topic: str) -> dict[int, int]:
        """The broker id leading each partition of ``topic`` now (-1: none)."""
        metadata = self._client.list_topics(topic, timeout=10)
        return {p: part.leader for p, part in metadata.topics[topic].partitions.items()}

    def _wait_for_leaders(self, names: list[str], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            metadata = self._client.list_topics(timeout=10)
            pending = [
                name
                for name in names
                if name not in metadata.topics
                or metadata.topics[name].error is not None
                or any(p.leader < 0 for p in metadata.topics[name].partitions.values())
            ]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise BrokerError(f"topics without a leader after {timeout:.0f} s: {pending}")
            time.sleep(0.1)
