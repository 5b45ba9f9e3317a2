"""minimise_query() and redact(): keep what the purpose allows, report names, copy nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from gateway.redaction import RedactionResult, compile_paths, minimise_query, redact


def record() -> dict[str, Any]:
    return {
        "nino": "QQ123456C",
        "surname": "Doe",
        "date_of_birth": date(1990, 2, 3),
        "address": {"line1": "1 High Street", "line2": None, "postcode": "LS1 1AA"},
        "employments": [
            {"employer_name": "Acme Ltd", "annual_pay_gbp": 28000},
            {"employer_name": "Beta plc", "annual_pay_gbp": 12000},
        ],
        "self_assessment": None,
    }


# --- minimise_query -------------------------------------------------------------------------


def test_minimise_keeps_allowed_query_fields_and_names_the_removed_ones_sorted() -> None:
    kept, removed = minimise_query(
        {"upn": "A1", "nationality": "FRA", "surname": "Doe", "ethnicity": "X"},
        frozenset({"upn", "surname"}),
    )
    assert kept == {"upn": "A1", "surname": "Doe"}
    assert removed == ("ethnicity", "nationality")


def test_minimise_with_nothing_to_remove_returns_the_query_as_is() -> None:
    assert minimise_query({"upn": "A1"}, {"upn", "surname"}) == ({"upn": "A1"}, ())


# --- redact ---------------------------------------------------------------------------------


def test_top_level_fields_not_allowed_are_withheld() -> None:
    result = redact(record(), compile_paths(["surname", "date_of_birth"]))
    assert result.record == {"surname": "Doe", "date_of_birth": date(1990, 2, 3)}
    assert result.released == ("date_of_birth", "surname")
    assert "nino" in result.withheld
    assert result.redacted


def test_a_nested_path_keeps_only_that_field_of_the_nested_record() -> None:
    result = redact(record(), compile_paths(["address.postcode"]))
    assert result.record == {"address": {"postcode": "LS1 1AA"}}
    assert result.released == ("address.postcode",)
    assert {"address.line1", "address.line2"} <= set(result.withheld)


def test_an_allowed_prefix_releases_its_whole_subtree() -> None:
    result = redact(record(), compile_paths(["address"]))
    assert result.record == {"address": record()["address"]}
    assert result.released == ("address.line1", "address.line2", "address.postcode")


def test_an_array_path_applies_to_every_element() -> None:
    result = redact(record(), compile_paths(["employments[].employer_name"]))
    assert result.record == {
        "employments": [{"employer_name": "Acme Ltd"}, {"employer_name": "Beta plc"}]
    }
    assert result.released == ("employments[].employer_name",)
    assert "employments[].annual_pay_gbp" in result.withheld


def test_released_and_withheld_are_sorted_leaf_paths_of_the_whole_input() -> None:
    result = redact(record(), compile_paths(["employments[].employer_name", "self_assessment"]))
    assert result.released == ("employments[].employer_name", "self_assessment")
    assert result.withheld == (
        "address.line1",
        "address.line2",
        "address.postcode",
        "date_of_birth",
        "employments[].annual_pay_gbp",
        "nino",
        "surname",
    )


def test_null_valued_fields_still_count_as_fields() -> None:
    result = redact(record(), compile_paths(["self_assessment"]))
    assert result.record == {"self_assessment": None}
    assert result.released == ("self_assessment",)
    assert "address.line2" in result.withheld


@pytest.mark.parametrize("value", [None, [], {}, "flat text", [{"postcode": "X"}]])
def test_a_value_not_shaped_like_the_allowed_path_is_withheld(value: Any) -> None:
    result = redact({"address": value}, compile_paths(["address.postcode"]))
    assert result.record == {}
    assert result.released == ()
    assert result.withheld


def test_a_nested_record_with_nothing_allowed_left_is_dropped_not_emptied() -> None:
    result = redact({"address": {"line1": "x"}}, compile_paths(["address.postcode"]))
    assert result.record == {}
    assert result.withheld == ("address.line1",)


def test_an_empty_allow_list_releases_nothing() -> None:
    result = redact(record(), compile_paths([]))
    assert result.record == {}
    assert result.released == ()


def test_the_output_shares_no_containers_with_the_input() -> None:
    source = record()
    result = redact(source, compile_paths(["address", "employments"]))
    assert result.record["address"] is not source["address"]
    assert result.record["employments"] is not source["employments"]
    assert result.record["employments"][0] is not source["employments"][0]
    result.record["address"]["postcode"] = "changed"
    assert source["address"]["postcode"] == "LS1 1AA"


def test_redact_accepts_plain_path_strings() -> None:
    assert redact(record(), ["surname"]).record == {"surname": "Doe"}
    with pytest.raises(TypeError):
        redact(record(), "surname")


def test_further_steps_run_in_order_after_selection_and_see_only_released_data() -> None:
    seen: list[dict[str, Any]] = []

    def remember(result: RedactionResult) -> RedactionResult:
        seen.append(dict(result.record))
        return result

    def year_only(result: RedactionResult) -> RedactionResult:
        born = result.record["date_of_birth"]
        return RedactionResult(
            record={**result.record, "date_of_birth": born.year},
            released=result.released,
            withheld=result.withheld,
        )

    result = redact(record(), compile_paths(["date_of_birth"]), steps=[remember, year_only])
    assert seen == [{"date_of_birth": date(1990, 2, 3)}]
    assert result.record == {"date_of_birth": 1990}


def test_a_record_that_is_any_mapping_is_redacted_like_a_dict() -> None:
    class Frozen(dict[str, Any]):
        pass

    result = redact(Frozen(record()), compile_paths(["address.postcode"]))
    assert result.record == {"address": {"postcode": "LS1 1AA"}}
    assert type(result.record) is dict


def _iter_values(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for child in value.values():
            yield from _iter_values(child)
    elif isinstance(value, list):
        for child in value:
            yield from _iter_values(child)
    else:
        yield value


def test_no_withheld_value_appears_anywhere_in_the_output() -> None:
    result = redact(record(), compile_paths(["employments[].employer_name", "address.postcode"]))
    released_values = set(map(repr, _iter_values(result.record)))
    for secret in ("QQ123456C", "Doe", 28000, 12000, "1 High Street"):
        assert repr(secret) not in released_values
