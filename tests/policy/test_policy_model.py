"""The agreement model: strict, so a mistyped or unsafe agreement never loads."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.policy import Agreement, AgreementStatus


def document(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "ho-dfe-test",
        "title": "Test agreement",
        "requester": "ho",
        "provider": "dfe",
        "legal_basis": "Test Act 2020 s.1",
        "reference": "MoU TEST/1",
        "owner": "Test team",
        "status": "active",
        "valid_from": date(2020, 1, 1),
        "purposes": [purpose()],
    }
    base.update(overrides)
    return base


def purpose(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "locate",
        "description": "Find a person's address.",
        "subject_identifiers": ["upn"],
        "request_fields": ["upn", "surname"],
        "response_fields": ["home_address", "school_name"],
    }
    base.update(overrides)
    return base


def error_text(doc: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        Agreement.model_validate(doc)
    return str(caught.value)


def test_a_complete_agreement_validates_with_typed_dates_and_status() -> None:
    agreement = Agreement.model_validate(document(valid_until="2030-12-31"))
    assert agreement.status is AgreementStatus.ACTIVE
    assert agreement.valid_until == date(2030, 12, 31)
    assert agreement.purposes[0].request_fields == ("upn", "surname")
    assert agreement.prohibited_purposes == ()


def test_unknown_keys_are_rejected_at_every_level() -> None:
    assert "max_per_day" in error_text(document(max_per_day=50))
    assert "transform" in error_text(document(purposes=[purpose(transform="year")]))


@pytest.mark.parametrize("bad", ["HO-DFE", "ho_dfe", "ho--dfe", "-ho", "ho dfe", ""])
def test_ids_must_be_lower_kebab_case(bad: str) -> None:
    error_text(document(id=bad))
    error_text(document(purposes=[purpose(id=bad)]))


def test_ids_are_at_most_the_64_characters_a_request_can_name() -> None:
    Agreement.model_validate(document(id="a" * 64, purposes=[purpose(id="b" * 64)]))
    assert "longer than 64 characters" in error_text(document(id="a" * 65))
    assert "longer than 64 characters" in error_text(document(purposes=[purpose(id="b" * 65)]))


def test_departments_are_the_codes_a_request_can_name() -> None:
    Agreement.model_validate(document(requester="h" * 32))
    assert "at most 32 characters" in error_text(document(requester="h" * 33))


def test_status_must_be_active_suspended_or_ended() -> None:
    assert "status" in error_text(document(status="paused"))


@pytest.mark.parametrize("bad", ["2020-13-01", "01/02/2020", 20200101, "2020-01-01T10:00"])
def test_dates_must_be_written_as_year_month_day(bad: object) -> None:
    assert "valid_from" in error_text(document(valid_from=bad))


def test_valid_from_must_not_be_after_valid_until() -> None:
    text = error_text(document(valid_from="2021-01-01", valid_until="2020-12-31"))
    assert "valid_until: must not be before valid_from" in text


def test_purpose_ids_must_be_unique() -> None:
    assert "purposes: ids must be unique: locate" in error_text(
        document(purposes=[purpose(), purpose()])
    )


def test_an_active_agreement_needs_a_purpose_but_an_ended_one_may_have_none() -> None:
    assert "purposes: needs at least one while the agreement is active" in error_text(
        document(purposes=[])
    )
    ended = Agreement.model_validate(document(status="ended", purposes=[]))
    assert ended.purposes == ()


def test_a_purpose_cannot_be_both_allowed_and_prohibited() -> None:
    prohibited = [{"id": "locate", "reason": "no"}]
    assert "also allowed as purposes: locate" in error_text(
        document(prohibited_purposes=prohibited)
    )


def test_requester_and_provider_must_differ() -> None:
    assert "provider: must be a different department" in error_text(document(provider="ho"))


def test_subject_identifiers_must_be_request_fields() -> None:
    text = error_text(document(purposes=[purpose(subject_identifiers=["nino"])]))
    assert "nino" in text


@pytest.mark.parametrize("key", ["subject_identifiers", "request_fields", "response_fields"])
def test_purpose_field_lists_must_be_non_empty(key: str) -> None:
    error_text(document(purposes=[purpose(**{key: []})]))


def test_field_lists_must_not_repeat_a_field() -> None:
    text = error_text(document(purposes=[purpose(request_fields=["upn", "upn"])]))
    assert "more than once: upn" in text


@pytest.mark.parametrize("bad", ["a..b", "a[", "a[].", "a b", "[]"])
def test_response_fields_must_be_field_paths(bad: str) -> None:
    assert "not a field path" in error_text(document(purposes=[purpose(response_fields=[bad])]))


def test_response_fields_must_agree_on_which_fields_are_lists() -> None:
    paths = ["employments.employer_name", "employments[].start_date"]
    assert "is a list" in error_text(document(purposes=[purpose(response_fields=paths)]))


def test_query_fields_cannot_reach_into_lists() -> None:
    error_text(document(purposes=[purpose(request_fields=["upn", "household[].forenames"])]))


def test_required_text_cannot_be_blank() -> None:
    error_text(document(legal_basis="   "))


def test_an_agreement_is_immutable() -> None:
    agreement = Agreement.model_validate(document())
    with pytest.raises(ValidationError):
        agreement.status = AgreementStatus.ENDED
