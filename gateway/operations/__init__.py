"""Operating the gateway: snapshots of a cluster for ``gateway status`` and the console.

:mod:`~gateway.operations.snapshot` holds the data (no Kafka), :mod:`~gateway.operations.window`
counts recent audit records (no Kafka), :mod:`~gateway.operations.reader` takes snapshots with
aiokafka.
"""

from gateway.operations.snapshot import (
    AuditPartitionStatus,
    ClusterSnapshot,
    DeadLetterNote,
    DeadLetters,
    DecisionCount,
    GroupOffset,
    InputPartition,
    PolicyVersionSeen,
    RefusalReason,
    TopicLag,
)

__all__ = [
    "AuditPartitionStatus",
    "ClusterSnapshot",
    "DeadLetterNote",
    "DeadLetters",
    "DecisionCount",
    "GroupOffset",
    "InputPartition",
    "PolicyVersionSeen",
    "RefusalReason",
    "TopicLag",
]
