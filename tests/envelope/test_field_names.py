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
