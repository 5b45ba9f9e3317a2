"""compile_policies(): frozen, indexed structures built once per policy revision."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from gateway.errors import PolicyLoadError
from gateway.policy import AgreementStatus, PolicySet, compile_policies
from gateway.redaction import PathSet


def agreement(agreement_id: str, requester: str, provider: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": agreement_id,
        "title": "t",
        "requester": requester,
        "provider": provider,
        "legal_basis": "b",
        "reference": "r",
        "owner": "o",
        "status": "active",
        "valid_from": "2020-01-01",
        "purposes": [
            {
                "id": "check",
                "description": "d",
                "subject_identifiers": ["nino"],
                "request_fields": ["nino", "surname"],
                "response_fields": ["properties[].uprn", "address", "address.postcode"],
            }
        ],
        "prohibited_purposes": [{"id": "profiling", "reason": "never"}],
    }
    base.update(extra)
    return base


POLICY_SET = PolicySet.of(
    [agreement("zeta-share", "ho", "hmrc"), agreement("alpha-share", "dwp", "hmrc")],
    version="v-test",
)


def test_agreements_are_listed_by_id_and_looked_up_by_id() -> None:
    policy = compile_policies(POLICY_SET)
    assert [a.id for a in policy.agreements] == ["alpha-share", "zeta-share"]
    found = policy.agreement("zeta-share")
    assert found is not None
    assert (found.requester, found.provider, found.status) == ("ho", "hmrc", AgreementStatus.ACTIVE)
    assert policy.agreement("unknown") is None


def test_purposes_are_looked_up_by_agreement_and_purpose() -> None:
    policy = compile_policies(POLICY_SET)
    purpose = policy.purpose("zeta-share", "check")
    assert purpose is not None
    assert purpose.request_fields == frozenset({"nino", "surname"})
    assert purpose.subject_identifiers == ("nino",)
    assert policy.purpose("zeta-share", "profiling") is None
    assert policy.purpose("unknown", "check") is None


def test_response_fields_are_normalised_and_precompiled_for_redaction() -> None:
    purpose = compile_policies(POLICY_SET).purpose("zeta-share", "check")
    assert purpose is not None
    assert purpose.response_fields == ("address", "properties[].uprn")
    assert isinstance(purpose.response_paths, PathSet)
    assert purpose.response_paths.paths == purpose.response_fields


def test_version_departments_and_prohibitions_are_carried_over() -> None:
    policy = compile_policies(POLICY_SET)
    assert policy.version == "v-test"
    assert policy.departments == ("dwp", "hmrc", "ho")
    zeta = policy.agreement("zeta-share")
    assert zeta is not None
    assert dict(zeta.prohibited) == {"profiling": "never"}


def test_compiled_structures_cannot_be_changed() -> None:
    policy = compile_policies(POLICY_SET)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.version = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.by_id["new"] = policy.agreements[0]  # type: ignore[index]
    zeta = policy.agreement("zeta-share")
    assert zeta is not None
    with pytest.raises(TypeError):
        zeta.purposes["extra"] = zeta.purposes["check"]  # type: ignore[index]


def test_in_force_on_combines_status_and_validity_dates() -> None:
    policy = compile_policies(
        PolicySet.of(
            [
                agreement("open", "ho", "hmrc", valid_until="2021-12-31"),
                agreement("ended", "ho", "hmrc", status="ended"),
            ]
        )
    )
    open_, ended = policy.agreement("open"), policy.agreement("ended")
    assert open_ is not None and ended is not None
    assert open_.in_force_on(date(2021, 12, 31))
    assert not open_.in_force_on(date(2022, 1, 1))
    assert not open_.in_force_on(date(2019, 12, 31))
    assert not ended.in_force_on(date(2021, 1, 1))


def test_a_hand_built_set_with_duplicate_ids_is_rejected() -> None:
    twice = PolicySet.of([agreement("same", "ho", "hmrc"), agreement("same", "ho", "nhs")])
    with pytest.raises(PolicyLoadError) as caught:
        compile_policies(twice)
    assert caught.value.problems == ["agreement id 'same' is defined more than once"]
