"""The ACL set that enforces the topic boundaries: one definition, shown verbatim in the docs."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gateway.cli import cli
from gateway.settings import DEFAULT_DEPARTMENTS
from gateway.transport.acls import AclResource, gateway_acls, kafka_acls_script
from gateway.transport.topics import TopicNames

SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_docs_security_shows_exactly_the_acl_commands_gateway_acls_defines() -> None:
    script = kafka_acls_script(gateway_acls(TopicNames(), list(DEFAULT_DEPARTMENTS)))

    assert f"```sh\n{script}```" in SECURITY_DOC.read_text()


def test_a_department_is_granted_only_its_own_four_topics_and_groups() -> None:
    acls = [a for a in gateway_acls(TopicNames("x"), ["ho", "nhs"]) if a.user == "nhs"]

    topics = {(a.name, a.operations) for a in acls if a.resource is AclResource.TOPIC}
    assert topics == {
        ("x.requests.nhs", ("Write", "Describe")),
        ("x.responses.nhs", ("Write", "Describe")),
        ("x.inbox.nhs", ("Read", "Describe")),
        ("x.replies.nhs", ("Read", "Describe")),
    }
    (group,) = [a for a in acls if a.resource is AclResource.GROUP]
    assert (group.name, group.prefixed, group.operations) == ("x.nhs.", True, ("Read",))
    assert not any(a.prefixed for a in acls if a.resource is AclResource.TOPIC)


def test_print_acls_follows_the_configured_prefix_departments_and_gateway_group() -> None:
    result = CliRunner().invoke(
        cli,
        ["kafka", "--print-acls", "--prefix", "gov", "--departments", "ho,nhs"],
        env={"GATEWAY_GROUP_ID": "gov-gateway"},
    )

    assert result.exit_code == 0, result.output
    assert "--topic gov.requests.ho\n" in result.output
    assert "--topic dx." not in result.output and "dfe" not in result.output
    assert "--allow-principal User:gateway --operation All --group gov-gateway\n" in result.output
