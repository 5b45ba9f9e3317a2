"""The Kafka ACLs that enforce the topic trust boundaries of ``docs/security.md``.

One principal per department, one for the gateway, one for operators and one for the audit
indexer. A department writes its own requests and responses, reads its own inbox and replies
(in consumer groups named ``<prefix>.<dept>.*``) and nothing else; only the gateway touches the
audit, capped and dead-letter topics, apart from reading: operators read dead letters (in groups
``<prefix>.operator.*``), the audit indexer reads the audit log (group
``<prefix>-audit-indexer``). With ``allow.everyone.if.no.acl.found=false`` everything not listed
is refused.

:func:`gateway_acls` is the one definition: the real-Kafka test applies it
(:meth:`gateway.cluster.KafkaAdmin.create_acls`) and ``gateway kafka acls`` prints it as the
``kafka-acls.sh`` commands that ``docs/security.md`` shows.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.transport.topics import TopicNames

__all__ = ["Acl", "AclResource", "gateway_acls", "kafka_acls_script"]


class AclResource(enum.StrEnum):
    TOPIC = "topic"
    GROUP = "group"
    CLUSTER = "cluster"
    TRANSACTIONAL_ID = "transactional-id"


CLUSTER_NAME = "kafka-cluster"
"""The one cluster resource's name."""


@dataclass(frozen=True, slots=True)
class Acl:
    """``user`` is allowed ``operations`` on the topic or group ``name`` (a name prefix when
    ``prefixed``), or on the cluster. Operations as Kafka names them: ``Read``, ``Write``,
    ``Describe``, ``IdempotentWrite``, ``All``."""

    user: str
    resource: AclResource
    name: str
    operations: tuple[str, ...]
    prefixed: bool = False


def gateway_acls(
    topics: TopicNames,
    departments: Sequence[str],
    *,
    gateway_user: str = "gateway",
    gateway_group: str = "dx-gateway",
    operator_user: str = "operator",
    auditor_user: str = "auditor",
) -> list[Acl]:
    """Every ACL the exchange needs, departments first (in the order given)."""
    topic, group, cluster = AclResource.TOPIC, AclResource.GROUP, AclResource.CLUSTER
    # Idempotent producers (every client here) must be allowed IdempotentWrite on the cluster:
    # Kafka 4.4's StandardAuthorizer does not infer it from Write on a topic.
    idempotent = ("IdempotentWrite",)
    write, read = ("Write", "Describe"), ("Read", "Describe")
    acls: list[Acl] = []
    for dept in departments:
        acls += [
            Acl(dept, topic, topics.requests(dept), write),
            Acl(dept, topic, topics.responses(dept), write),
            Acl(dept, topic, topics.inbox(dept), read),
            Acl(dept, topic, topics.replies(dept), read),
            Acl(dept, group, f"{topics.prefix}.{dept}.", ("Read",), prefixed=True),
            Acl(dept, cluster, CLUSTER_NAME, idempotent),
        ]
    acls += [
        Acl(gateway_user, topic, f"{topics.prefix}.", ("All",), prefixed=True),
        Acl(gateway_user, group, gateway_group, ("All",)),
        # Exactly-once: one transactional producer per lane, <group>.lane-<n>.
        Acl(
            gateway_user,
            AclResource.TRANSACTIONAL_ID,
            f"{gateway_group}.lane-",
            write,
            prefixed=True,
        ),
        Acl(gateway_user, cluster, CLUSTER_NAME, idempotent),
        Acl(operator_user, topic, topics.deadletter, read),
        Acl(operator_user, group, f"{topics.prefix}.{operator_user}.", ("Read",), prefixed=True),
        Acl(auditor_user, topic, topics.audit, read),
        Acl(auditor_user, group, f"{topics.prefix}-audit-indexer", ("Read",)),
    ]
    return acls


def kafka_acls_script(acls: Iterable[Acl]) -> str:
    """The ``kafka-acls.sh`` commands that create ``acls`` (``$K`` names the tool with its
    connection options, set on the first line)."""
    lines = ['K="kafka-acls.sh --bootstrap-server $BOOTSTRAP --command-config admin.properties"']
    for acl in acls:
        operations = " ".join(f"--operation {op}" for op in acl.operations)
        pattern = " --resource-pattern-type prefixed" if acl.prefixed else ""
        resource = (
            "--cluster" if acl.resource is AclResource.CLUSTER else (f"--{acl.resource} {acl.name}")
        )
        lines.append(f"$K --add --allow-principal User:{acl.user} {operations} {resource}{pattern}")
    return "\n".join(lines) + "\n"
