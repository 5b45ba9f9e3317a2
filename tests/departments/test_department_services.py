"""The gateway finds department-side services only through their entry point: the faust
reference departments are found by name, and services that are absent, or whose packages are
not installed, stop a command with one line naming what to install."""

from __future__ import annotations

from importlib.metadata import EntryPoint, EntryPoints

import pytest

from gateway.cli import main
from gateway.departments import services as services_module
from gateway.departments.services import ENTRY_POINT_GROUP, department_services
from gateway.errors import ConfigError
from gateway.transport.topics import TopicNames


def _offer(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """Pretend the only installed services under the group are ``reference = value``."""
    offered = EntryPoints([EntryPoint(name="reference", value=value, group=ENTRY_POINT_GROUP)])

    def installed(*, group: str, name: str) -> EntryPoints:
        return EntryPoints(e for e in offered if e.group == group and e.name == name)

    monkeypatch.setattr(services_module, "entry_points", installed)


def test_the_reference_departments_are_found_by_their_entry_point() -> None:
    services = department_services()

    assert services.topic_partitions == 1
    assert services.extra_topics(["ho", "nhs"], TopicNames("dx")) == [
        "dx-dept-ho-__assignor-__leader",
        "dx-dept-nhs-__assignor-__leader",
    ]


def test_services_nobody_installed_are_a_config_error_naming_the_group() -> None:
    with pytest.raises(
        ConfigError, match=f"no department services 'elsewhere'.*{ENTRY_POINT_GROUP}"
    ):
        department_services("elsewhere")


def test_services_whose_package_is_missing_name_it_and_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _offer(monkeypatch, "no_such_department_services:SERVICES")

    with pytest.raises(ConfigError, match=r"need 'no_such_department_services'.*\[departments\]"):
        department_services()


def test_gateway_departments_without_its_services_is_one_line_and_exit_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _offer(monkeypatch, "no_such_department_services:SERVICES")

    with pytest.raises(SystemExit) as exited:
        main(["departments", "--bootstrap", "127.0.0.1:1", "--departments", "ho"])

    errors = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2
    assert len(errors) == 1 and errors[0].startswith("error [config_error]: ")
    assert "pip install 'dx-gateway[departments]'" in errors[0]
