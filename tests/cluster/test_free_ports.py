"""Ports picked for a cluster's listeners never collide."""

import socket

from gateway.cluster import KafkaCluster, free_ports


def test_ports_picked_together_are_distinct_and_bindable() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_three_nodes_get_six_distinct_listener_ports() -> None:
    cluster = KafkaCluster(3)
    try:
        listeners = [p for node in cluster.nodes for p in (node.port, node.controller_port)]
        assert len(set(listeners)) == 6
    finally:
        cluster.data_dir.rmdir()
