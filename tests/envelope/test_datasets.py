"""Dataset schemas: realistic records round-trip, field paths, provider mappings."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest

from gateway.envelope import (
    DATASET_BY_PROVIDER,
    SUBJECT_IDENTIFIER_BY_PROVIDER,
    Codec,
    default_schemas_dir,
    field_paths,
)
from gateway.errors import DecodeError, EnvelopeError, SchemaError

CODEC = Codec.default()
ADDRESS_FIELDS = [
    {"name": "line1", "type": "string"},
    {"name": "line2", "type": ["null", "string"], "default": None},
    {"name": "town", "type": "string"},
    {"name": "postcode", "type": "string"},
]


def address(line1: str, town: str, postcode: str, line2: str | None = None) -> dict[str, Any]:
    return {"line1": line1, "line2": line2, "town": town, "postcode": postcode}


EXAMPLES: dict[str, dict[str, Any]] = {
    "ho": {
        "person_id": "HO-7741023",
        "surname": "Okafor",
        "forenames": "Chidinma Grace",
        "date_of_birth": date(1986, 3, 14),
        "nationality": "NGA",
        "immigration_status": "LIMITED_LEAVE",
        "leave_expiry": date(2026, 9, 30),
        "conditions": {
            "right_to_work": True,
            "right_to_rent": True,
            "no_recourse_to_public_funds": True,
            "immigration_health_surcharge_paid": True,
        },
        "case_reference": "3434-0000-1234-5678",
        "address": address("Flat 4", "Leeds", "LS6 2QR", line2="27 Hyde Park Road"),
    },
    "dfe": {
        "upn": "H801200001001",
        "surname": "Nowak",
        "forenames": "Zofia",
        "date_of_birth": date(2014, 11, 2),
        "gender": "F",
        "ethnicity": "WOTH",
        "nationality": "Polish",
        "country_of_birth": None,
        "home_address": address("12 Carlton Street", "Bradford", "BD7 1DA"),
        "school_urn": "107345",
        "school_name": "Lilycroft Primary School",
        "year_group": 5,
        "enrolment_date": date(2019, 9, 4),
        "free_school_meals": True,
        "sen_provision": "K",
    },
    "hmrc": {
        "nino": "QQ123456C",
        "surname": "Patel",
        "forenames": "Ravi",
        "date_of_birth": date(1979, 6, 21),
        "address": address("8 Belgrave Road", "Leicester", "LE4 6AR"),
        "employments": [
            {
                "employer_name": "Midlands Logistics Ltd",
                "employer_paye_ref": "120/ML45678",
                "start_date": date(2016, 4, 11),
                "end_date": date(2023, 1, 31),
                "annual_pay_gbp": 28450,
            },
            {
                "employer_name": "East Shires NHS Trust",
                "employer_paye_ref": "475/EA12093",
                "start_date": date(2023, 2, 6),
                "end_date": None,
                "annual_pay_gbp": 31200,
            },
        ],
        "properties": [
            {
                "uprn": "2465107843",
                "address": address("8 Belgrave Road", "Leicester", "LE4 6AR"),
                "ownership": "OWNER",
                "occupants_declared": 4,
                "rental_income_gbp": None,
            },
            {
                "uprn": "2465099124",
                "address": address("Flat 2", "Leicester", "LE2 0QA", line2="51 London Road"),
                "ownership": "LANDLORD",
                "occupants_declared": 2,
                "rental_income_gbp": 9600,
            },
        ],
        "self_assessment": True,
    },
    "dwp": {
        "nino": "QQ654321A",
        "surname": "Hughes",
        "forenames": "Bethan",
        "date_of_birth": date(1991, 1, 9),
        "address": address("3 Heol y Nant", "Swansea", "SA1 8EP"),
        "claim_reference": "UC-4481-2290-17",
        "benefit_type": "UNIVERSAL_CREDIT",
        "claim_status": "OPEN",
        "claim_start": date(2023, 5, 15),
        "last_payment_date": date(2025, 2, 28),
        "household": [
            {"relationship": "PARTNER", "forenames": "Owain", "date_of_birth": date(1989, 7, 30)},
            {"relationship": "CHILD", "forenames": "Cerys", "date_of_birth": date(2018, 12, 1)},
        ],
        "bank_sort_code": "40-47-84",
        "next_interview": None,
    },
    "nhs": {
        "nhs_number": "9990123456",
        "surname": "Silva",
        "forenames": "Mariana",
        "date_of_birth": date(1972, 10, 5),
        "address": address("41 Stockwell Park Walk", "London", "SW9 0DA"),
        "gp_practice_code": "G85034",
        "trust_code": "RJ1",
        "chargeable_status": "CHARGEABLE",
        "outstanding_debt_gbp": 4870,
        "debt_first_incurred": date(2024, 8, 19),
        "treatment_summary": "Elective cataract surgery, right eye; two follow-up appointments.",
    },
}


def raw_schema(name: str) -> dict[str, Any]:
    return json.loads(CODEC.registry.get(name).path.read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("provider", EXAMPLES)
def test_every_dataset_round_trips_a_realistic_record(provider: str) -> None:
    name = DATASET_BY_PROVIDER[provider]

    assert CODEC.decode_record(CODEC.encode_record(name, EXAMPLES[provider])) == (
        name,
        EXAMPLES[provider],
    )


@pytest.mark.parametrize("provider", EXAMPLES)
def test_a_dataset_record_decodes_as_its_own_schema(provider: str) -> None:
    name = DATASET_BY_PROVIDER[provider]

    decoded = CODEC.decode_record_as(CODEC.encode_record(name, EXAMPLES[provider]), name)

    assert decoded == EXAMPLES[provider]


def test_decoding_a_record_as_another_dataset_names_both_schemas() -> None:
    data = CODEC.encode_record("dx.datasets.ImmigrationStatus", EXAMPLES["ho"])

    expected = "expected a dx.datasets.BenefitClaim message, got a dx.datasets.ImmigrationStatus"
    with pytest.raises(DecodeError, match=re.escape(expected)):
        CODEC.decode_record_as(data, "dx.datasets.BenefitClaim")


def test_optional_fields_may_be_left_out_when_encoding() -> None:
    record = {k: v for k, v in EXAMPLES["dwp"].items() if k not in {"household", "next_interview"}}

    _, decoded = CODEC.decode_record(CODEC.encode_record("dx.datasets.BenefitClaim", record))

    assert decoded["household"] == []
    assert decoded["next_interview"] is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"claim_status": "PAUSED"}, "dx.datasets.BenefitClaim.claim_status"),
        ({"date_of_birth": 1991.0109}, "dx.datasets.BenefitClaim.date_of_birth"),
        ({"claim_start": "last spring"}, "does not fit dx.datasets.BenefitClaim"),
        ({"surname": None}, "dx.datasets.BenefitClaim.surname"),
        ({"ethnicity": "WBRI"}, "more fields than the schema specifies: ethnicity"),
    ],
    ids=["enum-symbol", "date-as-number", "unreadable-date", "missing-required", "extra-field"],
)
def test_a_record_that_does_not_fit_its_schema_is_refused_naming_the_field(
    change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(EnvelopeError, match=re.escape(problem)) as caught:
        CODEC.encode_record("dx.datasets.BenefitClaim", EXAMPLES["dwp"] | change)
    for value in change.values():
        if value is not None:
            assert str(value) not in str(caught.value).replace(problem, "")


def test_encoding_with_an_unknown_schema_name_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match=re.escape("no schema named dx.datasets.Passport")):
        CODEC.encode_record("dx.datasets.Passport", {})


def test_field_paths_list_nested_records_and_arrays_of_records() -> None:
    paths = field_paths(CODEC.registry.get("dx.datasets.EmploymentAndProperty").parsed)

    assert paths == [
        "nino",
        "surname",
        "forenames",
        "date_of_birth",
        "address.line1",
        "address.line2",
        "address.town",
        "address.postcode",
        "employments[].employer_name",
        "employments[].employer_paye_ref",
        "employments[].start_date",
        "employments[].end_date",
        "employments[].annual_pay_gbp",
        "properties[].uprn",
        "properties[].address.line1",
        "properties[].address.line2",
        "properties[].address.town",
        "properties[].address.postcode",
        "properties[].ownership",
        "properties[].occupants_declared",
        "properties[].rental_income_gbp",
        "self_assessment",
    ]


def test_field_paths_read_raw_schemas_and_treat_non_record_types_as_leaves() -> None:
    schema = {
        "type": "record",
        "name": "T",
        "fields": [
            {"name": "tags", "type": {"type": "array", "items": "string"}},
            {"name": "extra", "type": {"type": "map", "values": "string"}},
            {
                "name": "next_of_kin",
                "type": [
                    "null",
                    {
                        "type": "record",
                        "name": "Kin",
                        "fields": [{"name": "phone", "type": "string"}],
                    },
                ],
            },
            {"name": "others", "type": {"type": "array", "items": "Kin"}},
        ],
    }

    assert field_paths(schema) == ["tags", "extra", "next_of_kin.phone", "others[].phone"]


def test_field_paths_of_a_dataset_match_its_example_record() -> None:
    paths = field_paths(raw_schema("dx.datasets.ImmigrationStatus"))

    assert "conditions.no_recourse_to_public_funds" in paths
    assert "address.postcode" in paths
    assert {p.split(".")[0] for p in paths} == set(EXAMPLES["ho"])


def test_every_provider_has_a_known_dataset_and_a_top_level_string_identifier() -> None:
    assert set(DATASET_BY_PROVIDER) == set(SUBJECT_IDENTIFIER_BY_PROVIDER) == set(EXAMPLES)
    for provider, name in DATASET_BY_PROVIDER.items():
        fields = {f["name"]: f["type"] for f in raw_schema(name)["fields"]}
        assert fields[SUBJECT_IDENTIFIER_BY_PROVIDER[provider]] == "string"


def test_provider_mappings_are_read_only() -> None:
    with pytest.raises(TypeError):
        DATASET_BY_PROVIDER["ho"] = "dx.datasets.Other"  # type: ignore[index]


def test_every_dataset_uses_the_one_shared_address_shape() -> None:
    def records(avro: Any) -> list[dict[str, Any]]:
        if isinstance(avro, list):
            return [r for branch in avro for r in records(branch)]
        if not isinstance(avro, dict):
            return []
        found = [avro] if avro["type"] == "record" else []
        for field in avro.get("fields", []):
            found += records(field["type"])
        return found + records(avro.get("items"))

    for path in sorted((default_schemas_dir() / "datasets").glob("*.avsc")):
        schema = json.loads(path.read_text())
        assert schema["namespace"] == "dx.datasets"
        addresses = [r for r in records(schema) if r["name"] == "Address"]
        assert len(addresses) == 1, path
        assert addresses[0]["fields"] == ADDRESS_FIELDS, path


def test_nhs_clinical_data_is_marked_as_never_leaving_the_nhs() -> None:
    fields = {f["name"]: f for f in raw_schema("dx.datasets.OverseasVisitorCharging")["fields"]}

    assert "must never leave the NHS" in fields["treatment_summary"]["doc"]
