"""The agreements shipped in policies/ load, and each behaves as its text says."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from records_support import hmrc_record

from gateway.envelope.datasets import field_paths
from gateway.envelope.models import AuditOutcome, ExchangeRequest
from gateway.policy import CompiledPolicy, Rule, compile_policies, decide, load_policies
from gateway.redaction import redact

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)

DATASET_FILES = {
    "ho": "immigration_status.avsc",
    "dfe": "school_census_pupil.avsc",
    "hmrc": "employment_property.avsc",
    "dwp": "benefit_claim.avsc",
    "nhs": "overseas_visitor_charging.avsc",
}

ADDRESS = {"line1": "1 High Street", "line2": None, "town": "Leeds", "postcode": "LS1 1AA"}

IMMIGRATION_STATUS: dict[str, Any] = {
    "person_id": "P1234567",
    "surname": "Doe",
    "forenames": "Alex",
    "date_of_birth": date(1990, 2, 3),
    "nationality": "FRA",
    "immigration_status": "LIMITED_LEAVE",
    "leave_expiry": date(2026, 1, 31),
    "conditions": {
        "right_to_work": True,
        "right_to_rent": False,
        "no_recourse_to_public_funds": True,
        "immigration_health_surcharge_paid": True,
    },
    "case_reference": "HO/2024/123",
    "address": ADDRESS,
}

EMPLOYMENT_AND_PROPERTY = hmrc_record()


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    return compile_policies(load_policies(ROOT / "policies"))


def ask(policy: CompiledPolicy, **fields: Any) -> Any:
    fields.setdefault("request_id", "req-1")
    fields.setdefault("sent_at", NOW)
    request = ExchangeRequest(**fields)
    return decide(policy, request, sender=request.requester, now=NOW)


def codes(decision: Any) -> list[str]:
    return [reason.code for reason in decision.reasons]


def test_the_shipped_directory_loads_every_agreement(policy: CompiledPolicy) -> None:
    assert [a.id for a in policy.agreements] == [
        "dwp-ho-interview-pilot",
        "ho-dfe-school-census",
        "ho-hmrc-shared-houses",
        "ho-nhs-debtor-reporting",
        "ho-nhs-tracing-withdrawn",
        "nhs-ho-status-check",
        "rtw-ho-status-check",
    ]
    assert len(policy.version) == 16


def test_shipped_agreements_name_only_fields_the_providers_datasets_have(
    policy: CompiledPolicy,
) -> None:
    for agreement in policy.agreements:
        schema = json.loads(
            (ROOT / "schemas/datasets" / DATASET_FILES[agreement.provider]).read_text()
        )
        leaves = field_paths(schema)
        for purpose in agreement.purposes.values():
            for path in purpose.response_fields:
                assert any(
                    leaf == path or leaf.startswith((path + ".", path + "[]")) for leaf in leaves
                ), (agreement.id, path)
            for name in purpose.request_fields:
                assert any(leaf == name or leaf.startswith(name + ".") for leaf in leaves), (
                    agreement.id,
                    name,
                )


def test_school_census_releases_only_home_address_and_school(policy: CompiledPolicy) -> None:
    decision = ask(
        policy,
        requester="ho",
        provider="dfe",
        agreement_id="ho-dfe-school-census",
        purpose="locate-immigration-offender",
        query={"upn": "H801200001001", "surname": "Doe", "nationality": "FRA"},
    )
    assert decision.outcome is AuditOutcome.APPROVED_MINIMISED
    assert decision.removed_query_fields == ("nationality",)
    assert decision.response_fields == ("home_address", "school_name", "school_urn")


def test_school_census_never_serves_nationality_collection(policy: CompiledPolicy) -> None:
    decision = ask(
        policy,
        requester="ho",
        provider="dfe",
        agreement_id="ho-dfe-school-census",
        purpose="nationality-data-collection",
        query={"upn": "H801200001001"},
    )
    assert codes(decision) == [Rule.PURPOSE_PROHIBITED]
    assert "nationality and country of birth" in decision.reasons[0].message


def test_shared_houses_release_property_links_but_never_pay_or_rent(
    policy: CompiledPolicy,
) -> None:
    decision = ask(
        policy,
        requester="ho",
        provider="hmrc",
        agreement_id="ho-hmrc-shared-houses",
        purpose="identify-shared-houses",
        query={"nino": "QQ123456C"},
    )
    assert decision.allowed
    result = redact(EMPLOYMENT_AND_PROPERTY, decision.response_paths)
    assert result.record == {
        "employments": [{"employer_name": "Acme Ltd"}],
        "properties": [
            {"uprn": "100023336956", "address": {"postcode": "LS1 1AA"}, "occupants_declared": 9}
        ],
    }
    assert "employments[].annual_pay_gbp" in result.withheld
    assert "properties[].rental_income_gbp" in result.withheld


def test_shared_houses_cannot_be_widened_by_asking_for_income(policy: CompiledPolicy) -> None:
    decision = ask(
        policy,
        requester="ho",
        provider="hmrc",
        agreement_id="ho-hmrc-shared-houses",
        purpose="identify-shared-houses",
        query={"nino": "QQ123456C"},
        wanted=["employments", "properties[].rental_income_gbp"],
    )
    assert decision.response_fields == ("employments[].employer_name",)


@pytest.mark.parametrize("when", [NOW, datetime(2015, 9, 1, tzinfo=UTC)])
def test_the_ended_interview_pilot_denies_every_request(
    policy: CompiledPolicy, when: datetime
) -> None:
    request = ExchangeRequest(
        request_id="req-1",
        requester="ho",
        provider="dwp",
        agreement_id="dwp-ho-interview-pilot",
        purpose="arrange-interview",
        query={"nino": "QQ123456C"},
        sent_at=when,
    )
    decision = decide(policy, request, sender="ho", now=when)
    expected = [Rule.AGREEMENT_STATUS] + ([Rule.AGREEMENT_EXPIRED] if when == NOW else [])
    assert codes(decision) == expected


def test_nhs_debt_check_releases_only_the_debt_and_its_date(policy: CompiledPolicy) -> None:
    decision = ask(
        policy,
        requester="ho",
        provider="nhs",
        agreement_id="ho-nhs-debtor-reporting",
        purpose="immigration-application-debt-check",
        query={"nhs_number": "9434765919", "surname": "Doe", "date_of_birth": "1990-02-03"},
    )
    assert decision.outcome is AuditOutcome.APPROVED
    assert decision.response_fields == ("debt_first_incurred", "outstanding_debt_gbp")
    assert decision.subject_fields == ("nhs_number",)


def test_nhs_status_check_releases_status_but_never_the_address(policy: CompiledPolicy) -> None:
    decision = ask(
        policy,
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-status-check",
        purpose="overseas-visitor-charging",
        query={"case_reference": "HO/2024/123", "surname": "Doe"},
        wanted=["immigration_status", "address"],
    )
    assert decision.response_fields == ("immigration_status",)
    full = ask(
        policy,
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-status-check",
        purpose="overseas-visitor-charging",
        query={"person_id": "P1234567"},
    )
    result = redact(IMMIGRATION_STATUS, full.response_paths)
    assert result.record == {
        "immigration_status": "LIMITED_LEAVE",
        "leave_expiry": date(2026, 1, 31),
        "conditions": {"immigration_health_surcharge_paid": True},
    }
    assert {"address.line1", "address.postcode"} <= set(result.withheld)


@pytest.mark.parametrize(
    ("purpose", "released"),
    [("right-to-work", {"right_to_work": True}), ("right-to-rent", {"right_to_rent": False})],
)
def test_right_to_work_and_rent_checks_release_one_yes_or_no(
    policy: CompiledPolicy, purpose: str, released: dict[str, bool]
) -> None:
    decision = ask(
        policy,
        requester="rtw",
        provider="ho",
        agreement_id="rtw-ho-status-check",
        purpose=purpose,
        query={"person_id": "P1234567", "date_of_birth": "1990-02-03"},
    )
    assert decision.allowed
    result = redact(IMMIGRATION_STATUS, decision.response_paths)
    assert result.record == {"conditions": released}
    assert result.released == (f"conditions.{purpose.replace('-', '_')}",)


def test_an_employer_cannot_use_the_status_check_as_another_department(
    policy: CompiledPolicy,
) -> None:
    request = ExchangeRequest(
        request_id="req-1",
        requester="ho",
        provider="ho",
        agreement_id="rtw-ho-status-check",
        purpose="right-to-work",
        query={"person_id": "P1234567"},
        sent_at=NOW,
    )
    decision = decide(policy, request, sender="rtw", now=NOW)
    assert codes(decision) == [Rule.REQUESTER_MISMATCH, Rule.AGREEMENT_PARTIES]


def test_nhs_tracing_is_denied_as_prohibited_with_the_withdrawal_reason(
    policy: CompiledPolicy,
) -> None:
    decision = ask(
        policy,
        requester="ho",
        provider="nhs",
        agreement_id="ho-nhs-tracing-withdrawn",
        purpose="immigration-enforcement-tracing",
        query={"nhs_number": "9434765919"},
    )
    assert codes(decision) == [
        Rule.PURPOSE_PROHIBITED,
        Rule.AGREEMENT_STATUS,
        Rule.AGREEMENT_EXPIRED,
    ]
    assert "withdrawn in 2018" in decision.reasons[0].message
    assert decision.response_fields == ()


# --- categories, global prohibitions, transforms and subject conditions -----------------------


def test_every_purpose_names_a_category_declared_in_global_yaml(policy: CompiledPolicy) -> None:
    categories = policy.global_policy.categories
    assert policy.global_policy.require_category
    for agreement in policy.agreements:
        for purpose in agreement.purposes.values():
            assert purpose.category in categories, (agreement.id, purpose.id)


def test_health_data_can_never_serve_immigration_enforcement(tmp_path: Path) -> None:
    for source in (ROOT / "policies").glob("*.yaml"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    text = (ROOT / "policies/ho-nhs-debtor-reporting.yaml").read_text()
    text = text.replace("id: ho-nhs-debtor-reporting", "id: ho-nhs-tracing-again").replace(
        "category: immigration-casework", "category: immigration-enforcement"
    )
    (tmp_path / "ho-nhs-tracing-again.yaml").write_text(text)
    decision = ask(
        compile_policies(load_policies(tmp_path)),
        requester="ho",
        provider="nhs",
        agreement_id="ho-nhs-tracing-again",
        purpose="immigration-application-debt-check",
        query={"nhs_number": "9434765919"},
    )
    assert codes(decision) == [Rule.PROHIBITION_GLOBAL]
    assert "patients must not be deterred" in decision.reasons[0].message


def test_nhs_debt_is_released_only_as_a_band_either_side_of_500_pounds(
    policy: CompiledPolicy,
) -> None:
    purpose = policy.purpose("ho-nhs-debtor-reporting", "immigration-application-debt-check")
    assert purpose is not None
    record = {"outstanding_debt_gbp": 730, "debt_first_incurred": date(2024, 3, 1)}
    result = redact(record, purpose.response_paths, transforms=purpose.transforms)
    assert result.record == {
        "outstanding_debt_gbp": "500 to 999",
        "debt_first_incurred": date(2024, 3, 1),
    }
    assert result.transformed == ("outstanding_debt_gbp:generalise",)


@pytest.mark.parametrize(
    ("agreement_id", "purpose_id", "youngest"),
    [
        ("ho-dfe-school-census", "locate-immigration-offender", None),
        ("nhs-ho-status-check", "overseas-visitor-charging", None),
        ("rtw-ho-status-check", "right-to-work", 16),
        ("rtw-ho-status-check", "right-to-rent", 18),
        ("ho-hmrc-shared-houses", "identify-shared-houses", 18),
    ],
)
def test_childrens_records_are_released_only_where_the_purpose_needs_them(
    policy: CompiledPolicy, agreement_id: str, purpose_id: str, youngest: int | None
) -> None:
    purpose = policy.purpose(agreement_id, purpose_id)
    assert purpose is not None
    if youngest is None:
        assert purpose.subject is None
    else:
        assert purpose.subject is not None and purpose.subject.min_age == youngest
