"""The row reader: an audit record's Avro bytes become exactly the store row that decoding them
and building the row from the fields gives, and bytes that are no record are a DecodeError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.audit_store import AuditCoordinates, DecodedRecord, compile_row_reader
from gateway.audit_store._rows import row_of
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage
from gateway.errors import DecodeError, SchemaError

CODEC = Codec.default()
SCHEMA = CODEC.registry.get("dx.gateway.AuditRecord")
READ_ROW = compile_row_reader(SCHEMA)
SOURCE = AuditCoordinates("dx.audit", 3, 41, "f" * 64)
T0 = datetime(2026, 11, 5, 9, 30, 15, 123000, tzinfo=UTC)


def fields(**overrides: Any) -> dict[str, Any]:
    """An approved request's audit fields, some overridden."""
    return {
        "prev_hash": "0" * 64,
        "sequence": 7,
        "decision_id": "d" * 32,
        "request_id": "r" * 32,
        "stage": AuditStage.REQUEST,
        "at": T0,
        "requester": "nhs",
        "provider": "ho",
        "agreement_id": "nhs-ho-status-check",
        "purpose": "overseas-visitor-charging",
        "outcome": AuditOutcome.APPROVED,
        "reasons": [{"code": "agreement.allows", "message": "the agreement allows it"}],
        "fields_requested": ["immigration_status", "leave_expiry"],
        "fields_released": ["immigration_status"],
        "fields_transformed": [],
        "fields_withheld": [],
        "subject_key": "ab" * 16,
        "policy_version": "2026-11-01",
        "input_topic": "dx.requests.nhs",
        "input_partition": 0,
        "input_offset": 12,
        "gateway_instance": "gateway-1",
        **overrides,
    }


def expected_row(data: bytes, source: AuditCoordinates = SOURCE) -> tuple[Any, ...]:
    """The row as decoding into fields and building a row from them makes it."""
    return row_of(DecodedRecord(CODEC.decode_record_as(data, SCHEMA.name), source))


EDGE_CASES = {
    "optional fields null": fields(
        request_id=None,
        requester=None,
        provider=None,
        agreement_id=None,
        purpose=None,
        subject_key=None,
        stage=AuditStage.INPUT,
        outcome=AuditOutcome.DEAD_LETTERED,
    ),
    "every list empty": fields(reasons=[], fields_requested=[], fields_released=[]),
    "unicode and JSON escapes": fields(
        reasons=[
            {"code": "naïve.rule", "message": 'quotes " and \\ and\ttabs, ünïcödé 名前 🙂\x7f'},
            {"code": "", "message": "\x00\x1f"},
        ],
        fields_requested=["prénom", 'a"b', "c\\d", "line\nbreak", "名前", "🙂"],
        fields_withheld=["address.postcode"],
        purpose="établissement",
    ),
    "large numbers": fields(sequence=2**62 + 5, input_partition=2**31, input_offset=2**63 - 1),
    "negative numbers": fields(input_partition=-1, input_offset=-(2**63)),
    "unchained record": fields(prev_hash="", sequence=-1),
    "long strings": fields(
        decision_id="x" * 64,
        reasons=[{"code": "c" * 200, "message": "m" * 20_000}],
        fields_released=["f" * 8191, "g" * 8192],
    ),
    "many list items": fields(fields_requested=[f"field_{i}" for i in range(300)]),
    "the epoch": fields(at=datetime(1970, 1, 1, tzinfo=UTC)),
    "before the epoch": fields(at=datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
    "a century on": fields(at=T0 + timedelta(days=36_500)),
    "the request's sent_at": fields(sent_at=T0 - timedelta(milliseconds=2_501)),
    "a sent_at before the epoch": fields(sent_at=datetime(1969, 7, 20, 20, 17, tzinfo=UTC)),
}


@pytest.mark.parametrize("record", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_a_record_reads_into_the_row_its_decoded_fields_make(record: dict[str, Any]) -> None:
    data = CODEC.encode_fields(AuditRecord, record)

    assert READ_ROW(data, *SOURCE) == expected_row(data)


def test_large_coordinates_and_every_outcome_and_stage_land_in_their_columns() -> None:
    source = AuditCoordinates("dx.audit.über", 2**31 - 1, 2**62, "e" * 64)
    for stage in AuditStage:
        for outcome in AuditOutcome:
            data = CODEC.encode_fields(AuditRecord, fields(stage=stage, outcome=outcome))
            assert READ_ROW(data, *source) == expected_row(data, source)


TEXT = st.text(st.characters(codec="utf-8"), max_size=80)
LONG = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(
    strings=st.fixed_dictionaries(
        {
            name: TEXT
            for name in (
                "prev_hash",
                "decision_id",
                "policy_version",
                "input_topic",
                "gateway_instance",
            )
        }
    ),
    optional=st.fixed_dictionaries(
        {
            name: st.none() | TEXT
            for name in (
                "request_id",
                "requester",
                "provider",
                "agreement_id",
                "purpose",
                "subject_key",
            )
        }
    ),
    lists=st.fixed_dictionaries(
        {
            name: st.lists(TEXT, max_size=4)
            for name in (
                "fields_requested",
                "fields_released",
                "fields_transformed",
                "fields_withheld",
            )
        }
    ),
    reasons=st.lists(st.fixed_dictionaries({"code": TEXT, "message": TEXT}), max_size=3),
    numbers=st.fixed_dictionaries(
        {"sequence": LONG, "input_partition": LONG, "input_offset": LONG}
    ),
    millis=st.integers(min_value=-(2**40), max_value=2**42),
    sent_millis=st.none() | st.integers(min_value=-(2**40), max_value=2**42),
    stage=st.sampled_from(AuditStage),
    outcome=st.sampled_from(AuditOutcome),
    source=st.builds(AuditCoordinates, TEXT, LONG, LONG, TEXT),
)
def test_any_record_reads_into_the_row_its_decoded_fields_make(
    strings: dict[str, str],
    optional: dict[str, str | None],
    lists: dict[str, list[str]],
    reasons: list[dict[str, str]],
    numbers: dict[str, int],
    millis: int,
    sent_millis: int | None,
    stage: AuditStage,
    outcome: AuditOutcome,
    source: AuditCoordinates,
) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    at = epoch + timedelta(milliseconds=millis)
    sent_at = None if sent_millis is None else epoch + timedelta(milliseconds=sent_millis)
    record = fields(**strings, **optional, **lists, **numbers)
    record.update(reasons=reasons, at=at, sent_at=sent_at, stage=stage, outcome=outcome)
    data = CODEC.encode_fields(AuditRecord, record)

    assert READ_ROW(data, *source) == expected_row(data, source)


def test_every_cut_short_record_is_a_decode_error_and_so_is_one_with_bytes_after_it() -> None:
    data = CODEC.encode_fields(AuditRecord, EDGE_CASES["unicode and JSON escapes"])

    for end in range(len(data)):
        with pytest.raises(DecodeError):
            READ_ROW(data[:end], *SOURCE)
    with pytest.raises(DecodeError, match="1 trailing byte"):
        READ_ROW(data + b"\x00", *SOURCE)


def test_bytes_of_another_schema_are_a_decode_error() -> None:
    other = CODEC.registry.get("dx.gateway.AuditCheckpoint").header

    with pytest.raises(DecodeError, match=r"not a dx\.gateway\.AuditRecord message"):
        READ_ROW(other + CODEC.encode_fields(AuditRecord, fields())[10:], *SOURCE)


@given(position=st.integers(min_value=10), value=st.integers(min_value=0, max_value=255))
def test_a_damaged_record_is_a_decode_error_or_reads_as_decoding_reads_it(
    position: int, value: int
) -> None:
    data = bytearray(CODEC.encode_fields(AuditRecord, EDGE_CASES["unicode and JSON escapes"]))
    data[position % len(data)] = value
    damaged = bytes(data)

    try:
        row = READ_ROW(damaged, *SOURCE)
    except DecodeError:
        return
    assert row == expected_row(damaged)


class Schema(NamedTuple):
    name: str
    header: bytes
    parsed: dict[str, Any]


def test_a_schema_the_store_has_no_columns_for_is_refused_when_the_reader_is_compiled() -> None:
    def without(name: str, extra: list[dict[str, Any]] = []) -> Schema:  # noqa: B006
        kept = [f for f in SCHEMA.parsed["fields"] if f["name"] != name]
        return Schema(SCHEMA.name, SCHEMA.header, {**SCHEMA.parsed, "fields": kept + extra})

    with pytest.raises(SchemaError, match="no field 'purpose'"):
        compile_row_reader(without("purpose"))
    with pytest.raises(SchemaError, match="'score' has no column form"):
        compile_row_reader(without("nothing", [{"name": "score", "type": "double"}]))
