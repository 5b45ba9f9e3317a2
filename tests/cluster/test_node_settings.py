"""Broker settings: the default node lets every client in; a secured one authenticates and
authorises every request."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cluster import NodeSpec, node_properties
from gateway.cluster.security import ClusterSecurity

NODE = NodeSpec(1, "127.0.0.1", 9092, 9192)
SECURITY = ClusterSecurity({"admin": "admin-secret", "nhs": "nhs-secret"})


def test_the_default_node_has_one_plaintext_client_listener_and_no_authorizer() -> None:
    properties = node_properties(NODE, (NODE,), Path("/data"))

    assert properties["listeners"].startswith("PLAINTEXT://127.0.0.1:9092,")
    assert properties["inter.broker.listener.name"] == "PLAINTEXT"
    assert "authorizer.class.name" not in properties
    assert not any("sasl" in key for key in properties)


def test_a_secured_node_takes_scram_logins_and_refuses_what_no_acl_allows() -> None:
    properties = node_properties(NODE, (NODE,), Path("/data"), security=SECURITY)

    assert properties["listeners"] == (
        "SASL_PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9192"
    )
    assert properties["advertised.listeners"] == "SASL_PLAINTEXT://127.0.0.1:9092"
    assert properties["authorizer.class.name"].endswith(".StandardAuthorizer")
    assert properties["super.users"] == "User:admin"
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert properties["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert not any("nhs-secret" in value for value in properties.values())
    assert SECURITY.format_arguments()[-2:] == [
        "--add-scram",
        "SCRAM-SHA-512=[name=nhs,password=nhs-secret]",
    ]


@pytest.mark.parametrize("users", [{"nhs": "pw"}, {"admin": "a,b"}, {"admin": 'quo"te'}])
def test_security_without_an_admin_or_with_unquotable_credentials_is_refused(
    users: dict[str, str],
) -> None:
    with pytest.raises(ValueError):
        ClusterSecurity(users)
