"""The synthetic provider datasets: valid, deterministic, unique and recognisably invented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gateway.envelope.codec import Codec
from gateway.envelope.datasets import DATASET_BY_PROVIDER, SUBJECT_IDENTIFIER_BY_PROVIDER
from gateway.synthetic.datasets import PROVIDERS, generate, main

_IDENTIFIER_SHAPES = {
    "ho": r"HO-\d{6}",
    "dfe": r"[A-Z]\d{12}",
    "hmrc": r"QQ\d{6}[A-D]",
    "dwp": r"QQ\d{6}[A-D]",
    "nhs": r"999\d{7}",
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_records_round_trip_through_their_dataset_schema(provider: str) -> None:
    """Every record encodes with the provider's dataset schema and decodes back unchanged."""
    codec = Codec.default()
    for record in generate(provider, 300):
        name, decoded = codec.decode_record(
            codec.encode_record(DATASET_BY_PROVIDER[provider], record)
        )
        assert name == DATASET_BY_PROVIDER[provider]
        assert decoded == record


@pytest.mark.parametrize("provider", PROVIDERS)
def test_same_seed_same_records_other_seed_other_records(provider: str) -> None:
    """Output depends only on the seed, and a smaller set is a prefix of a larger one."""
    assert generate(provider, 40, seed=3) == generate(provider, 40, seed=3)
    assert generate(provider, 40, seed=3) != generate(provider, 40, seed=4)
    assert generate(provider, 40, seed=3) == generate(provider, 90, seed=3)[:40]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_identifiers_are_unique_and_from_never_issued_ranges(provider: str) -> None:
    """Subject identifiers are unique and shaped like the real ones, from test/unissued ranges."""
    field = SUBJECT_IDENTIFIER_BY_PROVIDER[provider]
    ids = [record[field] for record in generate(provider, 3000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(_IDENTIFIER_SHAPES[provider], i) for i in ids)


def test_nhs_numbers_carry_a_valid_check_digit() -> None:
    """NHS numbers pass the modulus-11 check, like real ones in the 999 test range."""
    for record in generate("nhs", 500):
        digits = [int(d) for d in record["nhs_number"]]
        check = 11 - sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
        assert check % 11 == digits[9]


def test_postcodes_are_in_areas_no_real_postcode_uses() -> None:
    """Addresses use postcode areas starting with Q, which no UK postcode does."""
    for record in generate("ho", 200):
        assert re.fullmatch(r"Q[A-Z]\d{1,2} \d[A-Z]{2}", record["address"]["postcode"])


def test_pupils_are_children_of_the_adults_in_the_other_datasets() -> None:
    """DfE pupils share a surname and home address with an adult whose DWP household lists them."""
    pupils = generate("dfe", 100)
    claims = generate("dwp", 400)
    households = {
        (c["surname"], c["address"]["postcode"], member["forenames"], member["date_of_birth"])
        for c in claims
        for member in c["household"]
        if member["relationship"] == "CHILD"
    }
    for pupil in pupils:
        key = (
            pupil["surname"],
            pupil["home_address"]["postcode"],
            pupil["forenames"],
            pupil["date_of_birth"],
        )
        assert key in households
        assert 0 <= pupil["year_group"] <= 13


def test_hmrc_and_dwp_have_multi_element_arrays() -> None:
    """Some taxpayers have several employments and properties; some claims several household
    members."""
    taxpayers = generate("hmrc", 200)
    assert max(len(t["employments"]) for t in taxpayers) >= 2
    assert max(len(t["properties"]) for t in taxpayers) >= 2
    assert any(p["ownership"] == "LANDLORD" for t in taxpayers for p in t["properties"])
    assert max(len(c["household"]) for c in generate("dwp", 200)) >= 2


def test_unknown_provider_and_bad_size_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown provider"):
        generate("rtw", 1)
    with pytest.raises(ValueError, match="between"):
        generate("ho", -1)


def test_command_line_writes_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m gateway.synthetic.datasets --out DIR`` writes a JSON-lines file per provider."""
    main(["--out", str(tmp_path), "-n", "5"])

    for provider in PROVIDERS:
        lines = (tmp_path / f"{provider}.jsonl").read_text().splitlines()
        assert len(lines) == 5
        first = json.loads(lines[0])
        assert (
            first[SUBJECT_IDENTIFIER_BY_PROVIDER[provider]]
            == (generate(provider, 1)[0][SUBJECT_IDENTIFIER_BY_PROVIDER[provider]])
        )
    assert "ho.jsonl" in capsys.readouterr().out
