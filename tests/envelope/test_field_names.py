"""Field names travel to the audit log, so requests may only use field-shaped names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from gateway.envelope.models import ExchangeRequest


def request(**overrides: object) -> ExchangeRequest:
    fields: dict[str, object] = {
        "request_id": "r1",
        "requester": "nhs",
        "provider": "ho",
        "agreement_id": "nhs-ho-status-check",
        "purpose": "overseas-visitor-charging",
        "query": {"person_id": "HO-1"},
        "wanted": ["conditions.right_to_work", "employments[].employer_name"],
        "sent_at": datetime(2026, 11, 26, tzinfo=UTC),
    }
    fields.update(overrides)
    return ExchangeRequest.model_validate(fields)


def test_query_keys_and_wanted_paths_shaped_like_field_names_are_accepted() -> None:
    assert request().query == {"person_id": "HO-1"}


@pytest.mark.parametrize(
    "query",
    [{"Jane Smith 1984-01-02": "x"}, {"nhs_number=9990001234": "x"}, {"": "x"}, {"a" * 65: "x"}],
)
def test_a_query_key_that_is_not_a_field_name_is_rejected(query: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        request(query=query)


@pytest.mark.parametrize("wanted", [["address postcode"], ["Address"], ["a..b"], ["a[0].b"]])
def test_a_wanted_entry_that_is_not_a_field_path_is_rejected(wanted: list[str]) -> None:
    with pytest.raises(ValidationError):
        request(wanted=wanted)


PERSONAL = "Jane Doe 1970-01-01 NHS 9990001234 HIV+"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("request_id", "3f1c9e0a-5b7d-4c2e-9a8f-1d2e3f4a5b6c"),  # a UUID, as printed
        ("request_id", "3f1c9e0a5b7d4c2e9a8f1d2e3f4a5b6c"),  # uuid4().hex, the client's
        ("request_id", "nhs-7d0c2a9e41b84f0d"),
        ("request_id", "batch.7:item_12"),
        ("requester", "rtw"),
        ("provider", "ho"),
        ("agreement_id", "ho-nhs-debtor-reporting"),
        ("purpose", "immigration-application-debt-check"),
    ],
)
def test_ids_of_their_identifier_shape_are_accepted(field: str, value: str) -> None:
    assert getattr(request(**{field: value}), field) == value


@pytest.mark.parametrize(
    "field", ["request_id", "requester", "provider", "agreement_id", "purpose"]
)
@pytest.mark.parametrize(
    "value",
    [PERSONAL, "", "x" * 65, "ho\n", "naïve", "a b", "a/b"],
    ids=["personal", "empty", "too-long", "newline", "non-ascii", "space", "slash"],
)
def test_an_id_that_is_not_identifier_shaped_is_rejected(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        request(**{field: value})


@pytest.mark.parametrize("field", ["requester", "provider", "agreement_id", "purpose"])
def test_department_and_policy_ids_are_lower_case(field: str) -> None:
    with pytest.raises(ValidationError):
        request(**{field: "Ho"})


def test_department_codes_are_at_most_32_characters_and_slugs_at_most_64() -> None:
    request(requester="a" * 32, agreement_id="a" * 64, purpose="a" * 64)
    for field, value in (("requester", "a" * 33), ("agreement_id", "a" * 65)):
        with pytest.raises(ValidationError):
            request(**{field: value})
