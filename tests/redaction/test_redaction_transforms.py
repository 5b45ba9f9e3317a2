"""Field transforms: each releases a reduced form, never the raw value, and redaction reports it."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime
from typing import Any

import pytest

from gateway.redaction import (
    TransformKind,
    compile_paths,
    compile_transforms,
    derive_pseudonym_key,
    parse_transform,
    redact,
)
from gateway.redaction.transforms import (
    generalise,
    mask,
    postcode_district,
    pseudonymise,
    truncate,
)

KEY = derive_pseudonym_key(b"test-pseudonym-secret-0123456789", "ho-hmrc-test")


def record() -> dict[str, Any]:
    return {
        "nino": "QQ123456C",
        "surname": "Okafor",
        "date_of_birth": date(1990, 2, 3),
        "address": {"line1": "1 High Street", "line2": None, "postcode": "LS1 1AA"},
        "employments": [
            {"employer_name": "Acme Ltd", "employer_paye_ref": "123/AB456", "pay": 28000},
            {"employer_name": "Beta plc", "employer_paye_ref": "987/ZX12", "pay": 1234},
        ],
    }


def plan(*rules: tuple[str, object]) -> Any:
    return compile_transforms(
        [(path, parse_transform(spec)) for path, spec in rules], pseudonym_key=KEY
    )


# --- parsing the agreement syntax -----------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "kind", "options"),
    [
        ("keep", TransformKind.KEEP, {}),
        ("drop", TransformKind.DROP, {}),
        ("pseudonym", TransformKind.PSEUDONYM, {}),
        ("generalise", TransformKind.GENERALISE, {}),
        ("mask", TransformKind.MASK, {}),
        ({"mask": {"keep_last": 2}}, TransformKind.MASK, {"keep_last": 2}),
        ({"mask": {"keep_first": 1, "keep_last": 2}}, TransformKind.MASK, {"keep_first": 1}),
        ({"truncate": 3}, TransformKind.TRUNCATE, {"length": 3}),
        ({"generalise": {"band": 500}}, TransformKind.GENERALISE, {"band": 500}),
    ],
)
def test_each_written_form_parses_to_its_transform(
    written: object, kind: TransformKind, options: dict[str, int]
) -> None:
    spec = parse_transform(written)
    assert spec.kind is kind
    for name, value in options.items():
        assert getattr(spec, name) == value
    assert parse_transform(spec.as_yaml()) == spec


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("masc", "'masc' is not a transform"),
        ("truncate", "truncate needs a length"),
        ({"truncate": 0}, "truncate must be a whole number of at least 1"),
        ({"truncate": True}, "truncate must be a whole number"),
        ({"mask": {"keep_last": -1}}, "keep_last must be a whole number"),
        ({"mask": {"keep_end": 2}}, "unknown mask option(s): keep_end"),
        ({"generalise": {"band": 0}}, "band must be a whole number of at least 1"),
        ({"pseudonym": {"salt": "x"}}, "pseudonym takes no options"),
        ({"mask": {}, "drop": None}, "a transform is one of"),
        (3, "a transform is one of"),
    ],
)
def test_a_malformed_transform_says_what_is_wrong(written: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_transform(written)


# --- the value functions, one by one --------------------------------------------------------


def test_mask_keeps_only_the_characters_it_is_told_to() -> None:
    assert mask("QQ123456C", keep_last=2) == "*******6C"
    assert mask("QQ123456C", keep_first=2) == "QQ*******"
    assert mask("QQ123456C") == "*********"


def test_mask_masks_everything_when_the_kept_characters_would_cover_the_value() -> None:
    assert mask("AB", keep_last=2) == "**"
    assert mask("ABC", keep_first=2, keep_last=1) == "***"


def test_truncate_keeps_at_most_n_and_always_fewer_characters_than_the_value() -> None:
    assert truncate("Okafor", 3) == "Oka"
    assert truncate("Li", 3) == "L"
    assert truncate("", 3) == ""


def test_generalise_gives_a_dates_year() -> None:
    assert generalise(date(1990, 2, 3)) == 1990
    assert generalise(datetime(2001, 5, 6, 7, 8)) == 2001


@pytest.mark.parametrize(
    ("postcode", "district"),
    [("LS1 1AA", "LS1"), ("ls11aa", "LS1"), ("SW1A 2AA", "SW1A"), ("M1 1AE", "M1")],
)
def test_generalise_gives_a_postcodes_district(postcode: str, district: str) -> None:
    assert postcode_district(postcode) == district
    assert generalise(postcode) == district


def test_generalise_puts_a_number_into_its_band() -> None:
    assert generalise(1234, 500) == "1000 to 1499"
    assert generalise(0, 500) == "0 to 499"
    assert generalise(-1, 10) == "-10 to -1"
    assert generalise(12.5, 10) == "10 to under 20"


@pytest.mark.parametrize(
    ("value", "band"),
    [("not a postcode", None), (True, 10), (1234, None), (float("nan"), 10), (b"x", 10)],
)
def test_generalise_fails_closed_on_what_it_cannot_generalise(
    value: object, band: int | None
) -> None:
    assert generalise(value, band) is None


def test_a_pseudonym_is_a_keyed_hash_stable_within_an_agreement_and_unlinkable_across() -> None:
    other = derive_pseudonym_key(b"test-pseudonym-secret-0123456789", "ho-dwp-test")
    first = pseudonymise(KEY, "QQ123456C")
    assert first == pseudonymise(KEY, "qq 123456 c")  # case and spacing do not matter
    assert first.startswith("pn-") and len(first) == 27
    assert first != pseudonymise(KEY, "QQ123456D")
    assert first != pseudonymise(other, "QQ123456C")
    assert "QQ123456C" not in first


@pytest.mark.parametrize("key", [KEY, b"short", b"k" * 100])
def test_a_pseudonym_is_hmac_sha256_of_the_normalised_value(key: bytes) -> None:
    expected = hmac.new(key, b"qq123456c", hashlib.sha256).hexdigest()[:24]
    assert pseudonymise(key, " QQ 123456 c") == "pn-" + expected


def test_a_yes_or_no_is_never_pseudonymised() -> None:
    assert pseudonymise(KEY, True) is None


# --- redaction with a plan ------------------------------------------------------------------


def test_a_transformed_field_is_released_reduced_and_reported_with_its_transform() -> None:
    rules = plan(("nino", {"mask": {"keep_last": 2}}), ("date_of_birth", "generalise"))
    result = redact(record(), compile_paths(["nino", "date_of_birth"]), transforms=rules)
    assert result.record == {"nino": "*******6C", "date_of_birth": 1990}
    assert result.released == ("date_of_birth", "nino")
    assert result.transformed == ("date_of_birth:generalise", "nino:mask")


def test_a_transform_inside_a_released_record_applies_to_that_field_only() -> None:
    rules = plan(("address.postcode", "generalise"))
    result = redact(record(), compile_paths(["address"]), transforms=rules)
    assert result.record["address"] == {"line1": "1 High Street", "line2": None, "postcode": "LS1"}
    assert result.transformed == ("address.postcode:generalise",)


def test_a_transform_applies_to_every_element_of_a_list() -> None:
    rules = plan(
        ("employments[].employer_paye_ref", "pseudonym"),
        ("employments[].pay", {"generalise": {"band": 1000}}),
    )
    result = redact(record(), compile_paths(["employments"]), transforms=rules)
    employments = result.record["employments"]
    assert [e["pay"] for e in employments] == ["28000 to 28999", "1000 to 1999"]
    assert [e["employer_paye_ref"] for e in employments] == [
        pseudonymise(KEY, "123/AB456"),
        pseudonymise(KEY, "987/ZX12"),
    ]
    assert result.transformed == (
        "employments[].employer_paye_ref:pseudonym",
        "employments[].pay:generalise",
    )


def test_drop_withholds_a_field_inside_a_released_record() -> None:
    rules = plan(("address.line1", "drop"))
    result = redact(record(), compile_paths(["address"]), transforms=rules)
    assert result.record == {"address": {"line2": None, "postcode": "LS1 1AA"}}
    assert "address.line1" in result.withheld
    assert "address.line1" not in result.released
    assert result.transformed == ()


def test_a_null_value_stays_null_and_is_not_reported_as_transformed() -> None:
    rules = plan(("address.line2", {"truncate": 2}))
    result = redact(record(), compile_paths(["address.line2"]), transforms=rules)
    assert result.record == {"address": {"line2": None}}
    assert result.transformed == ()


@pytest.mark.parametrize("value", [{"inner": "x"}, ["LS1 1AA"]])
def test_a_value_shaped_unlike_a_single_value_is_withheld_not_transformed(value: object) -> None:
    rules = plan(("postcode", "generalise"))
    result = redact({"postcode": value}, compile_paths(["postcode"]), transforms=rules)
    assert result.record == {}
    assert result.released == ()
    assert result.withheld


def test_a_narrowed_allow_list_never_releases_a_transformed_field_it_does_not_ask_for() -> None:
    rules = plan(("nino", "pseudonym"))
    paths = compile_paths(["nino", "surname"]).narrow(["surname"])
    result = redact(record(), paths, transforms=rules)
    assert result.record == {"surname": "Okafor"}
    assert "nino" in result.withheld


@pytest.mark.parametrize(
    "rules",
    [
        [("address", "drop"), ("address.postcode", "generalise")],
        [("employments[].pay", "drop"), ("employments.pay", "drop")],
    ],
)
def test_transforms_that_overlap_or_disagree_on_shape_do_not_compile(
    rules: list[tuple[str, object]],
) -> None:
    with pytest.raises(ValueError):
        plan(*rules)


def test_a_pseudonym_without_a_key_does_not_compile() -> None:
    with pytest.raises(ValueError, match="pseudonym secret"):
        compile_transforms([("nino", parse_transform("pseudonym"))])
