"""Cluster ids the project formats Kafka storage with."""

from __future__ import annotations

import base64

from gateway.cluster.cluster import _new_cluster_id


def test_a_new_cluster_id_never_starts_with_a_dash_the_storage_tool_would_read_as_an_option() -> (
    None
):
    ids = [_new_cluster_id() for _ in range(5000)]  # about 1 in 64 random ids starts with '-'
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
