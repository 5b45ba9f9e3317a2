"""Apache Kafka started by the project itself: the pinned jars, node settings, a local cluster."""

from gateway.cluster.admin import KafkaAdmin
from gateway.cluster.cluster import KafkaCluster, free_port, free_ports
from gateway.cluster.distribution import KafkaDistribution, java_executable
from gateway.cluster.node_settings import NodeSpec, node_properties

__all__ = [
    "KafkaAdmin",
    "KafkaCluster",
    "KafkaDistribution",
    "NodeSpec",
    "free_port",
    "free_ports",
    "java_executable",
    "node_properties",
]
