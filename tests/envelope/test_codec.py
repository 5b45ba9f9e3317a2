"""Single-object encoding of the envelope models."""

from __future__ import annotations

import contextlib
import io
import json
import re
from datetime import UTC, datetime, timedelta, timezone

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from gateway.envelope import (
    AuditCheckpoint,
    AuditOutcome,
    AuditRecord,
    AuditStage,
    Codec,
    DeadLetter,
    ExchangeRequest,
    ProviderResponse,
    Reason,
    Reply,
    ReplyOutcome,
    ResponseStatus,
    RoutedRequest,
    default_schemas_dir,
)
from gateway.errors import DecodeError, EnvelopeError, SchemaError, UnknownSchemaError

AT = datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=UTC)
CODEC = Codec.default()


def exchange_request(**overrides: object) -> ExchangeRequest:
    fields: dict[str, object] = {
        "request_id": "9b2f4c1e-0d7a-4e55-8f0b-3c6a1d2e7f90",
        "requester": "dwp",
        "provider": "ho",
        "agreement_id": "dwp-ho-benefit-eligibility",
        "purpose": "benefit-eligibility",
        "query": {"person_id": "HO-7741023", "surname": "Okafor", "date_of_birth": "1986-03-14"},
        "wanted": ["immigration_status", "conditions.no_recourse_to_public_funds"],
        "sent_at": AT,
    }
    return ExchangeRequest.model_validate(fields | overrides)


def routed_request() -> RoutedRequest:
    return RoutedRequest(
        request_id="9b2f4c1e",
        requester="dwp",
        provider="ho",
        agreement_id="dwp-ho-benefit-eligibility",
        purpose="benefit-eligibility",
        query={"person_id": "HO-7741023"},
        wanted=["immigration_status"],
        policy_version="2025-03-01.4",
        issued_at=AT,
        token="bWFjLXNpZ25lZA",
    )


def provider_response(record: bytes | None = b"\xc3\x01record") -> ProviderResponse:
    return ProviderResponse(
        request_id="9b2f4c1e",
        responder="ho",
        requester="dwp",
        agreement_id="dwp-ho-benefit-eligibility",
        purpose="benefit-eligibility",
        wanted=["immigration_status"],
        issued_at=AT,
        token="bWFjLXNpZ25lZA",
        status=ResponseStatus.FOUND,
        record=record,
        sent_at=AT + timedelta(seconds=2),
    )


def reply() -> Reply:
    return Reply(
        request_id="9b2f4c1e",
        requester="dwp",
        provider="ho",
        agreement_id="dwp-ho-benefit-eligibility",
        purpose="benefit-eligibility",
        outcome=ReplyOutcome.REDACTED,
        reasons=[Reason(code="withheld.not_allowed", message="leave_expiry is not allowed")],
        status=ResponseStatus.FOUND,
        record_json='{"immigration_status": "SETTLED"}',
        released_fields=["immigration_status"],
        withheld_fields=["leave_expiry"],
        removed_query_fields=["surname"],
        policy_version="2025-03-01.4",
        replied_at=AT,
    )


def audit_record() -> AuditRecord:
    return AuditRecord(
        prev_hash="ab" * 32,
        sequence=2**40,
        decision_id="d-0001",
        request_id=None,
        stage=AuditStage.INPUT,
        at=AT,
        requester=None,
        provider=None,
        agreement_id=None,
        purpose=None,
        outcome=AuditOutcome.DEAD_LETTERED,
        reasons=[Reason(code="undecodable", message="body is truncated")],
        policy_version="2025-03-01.4",
        input_topic="dx.requests.dwp",
        input_partition=3,
        input_offset=2**40,
        gateway_instance="gw-1",
    )


def audit_checkpoint() -> AuditCheckpoint:
    return AuditCheckpoint(
        prev_hash="cd" * 32,
        sequence=1000,
        partition=3,
        at=AT,
        gateway_instance="gw-1",
        key_id="0123456789abcdef",
        signature=bytes(range(64)),
    )


def dead_letter() -> DeadLetter:
    return DeadLetter(
        dead_letter_id="dl-0001",
        at=AT,
        input_topic="dx.requests.dwp",
        input_partition=0,
        input_offset=17,
        key=None,
        payload=b"\x00\xff not avro",
        error_code="undecodable",
        reason="message starts with 00 ff",
        gateway_instance="gw-1",
    )


EXAMPLES: list[BaseModel] = [
    exchange_request(),
    exchange_request(query={}, wanted=[]),
    routed_request(),
    provider_response(),
    provider_response(record=None),
    reply(),
    audit_record(),
    audit_record().model_copy(update={"outcome": AuditOutcome.INPUT_GAP}),
    audit_checkpoint(),
    dead_letter(),
]
IDS = [f"{type(m).__name__}-{i}" for i, m in enumerate(EXAMPLES)]


def avsc(model_type: type[BaseModel]) -> dict[str, object]:
    for path in default_schemas_dir().glob("*.avsc"):
        schema = json.loads(path.read_text())
        if schema["name"] == model_type.__name__:
            return schema  # type: ignore[no-any-return]
    raise LookupError(model_type.__name__)


@pytest.mark.parametrize("model", EXAMPLES, ids=IDS)
def test_every_envelope_model_survives_a_round_trip(model: BaseModel) -> None:
    assert CODEC.decode(CODEC.encode(model), type(model)) == model


@pytest.mark.parametrize("model", EXAMPLES, ids=IDS)
def test_message_opens_with_marker_and_fastavro_fingerprint_of_canonical_form(
    model: BaseModel,
) -> None:
    canonical = fastavro.schema.to_parsing_canonical_form(avsc(type(model)))
    fingerprint = bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))

    data = CODEC.encode(model)

    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == fingerprint


@pytest.mark.parametrize("model", EXAMPLES, ids=IDS)
def test_body_is_readable_by_plain_fastavro_with_the_avsc(model: BaseModel) -> None:
    schema = fastavro.parse_schema(avsc(type(model)))

    record = fastavro.schemaless_reader(io.BytesIO(CODEC.encode(model)[10:]), schema, None)

    assert record == model.model_dump(mode="python")


def test_plain_fastavro_output_decodes_to_the_model() -> None:
    request = exchange_request()
    body = io.BytesIO()
    fastavro.schemaless_writer(
        body, fastavro.parse_schema(avsc(ExchangeRequest)), request.model_dump()
    )

    data = CODEC.encode(request)

    assert data[10:] == body.getvalue()
    assert CODEC.decode(data[:10] + body.getvalue(), ExchangeRequest) == request


def test_timestamps_keep_milliseconds_and_come_back_in_utc() -> None:
    sent = datetime(2025, 3, 14, 10, 26, 53, 589999, tzinfo=timezone(timedelta(hours=1)))

    decoded = CODEC.decode(CODEC.encode(exchange_request(sent_at=sent)), ExchangeRequest)

    assert decoded.sent_at == AT
    assert decoded.sent_at.tzinfo == UTC


def test_naive_timestamps_are_refused_on_encode() -> None:
    with pytest.raises(EnvelopeError, match=r"ExchangeRequest\.sent_at is a naive datetime"):
        CODEC.encode(exchange_request(sent_at=datetime(2025, 3, 14, 9, 26)))


def test_unknown_fingerprint_is_an_unknown_schema_error_naming_it_in_hex() -> None:
    data = b"\xc3\x01" + bytes.fromhex("0123456789abcdef") + CODEC.encode(exchange_request())[10:]

    with pytest.raises(UnknownSchemaError, match="0123456789abcdef"):
        CODEC.decode(data, ExchangeRequest)
    with pytest.raises(UnknownSchemaError, match="0123456789abcdef"):
        CODEC.decode_record(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "0 bytes"),
        (b"\xc3\x01\x00", "3 bytes"),
        (b"\x00\x00" + bytes(8) + b"body", "not the single-object marker c3 01"),
        (b'{"request_id": "x"}', "not the single-object marker"),
    ],
    ids=["empty", "shorter-than-header", "no-marker", "json"],
)
def test_bytes_without_a_single_object_header_are_a_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message) as caught:
        CODEC.decode(data, ExchangeRequest)
    assert not isinstance(caught.value, UnknownSchemaError)


def test_truncated_body_is_a_decode_error() -> None:
    data = CODEC.encode(exchange_request())

    for cut in range(10, len(data)):
        with pytest.raises(DecodeError, match="ExchangeRequest body is truncated"):
            CODEC.decode(data[:cut], ExchangeRequest)


def test_trailing_bytes_after_the_body_are_a_decode_error() -> None:
    with pytest.raises(
        DecodeError, match=r"2 trailing byte\(s\) after the dx.gateway.ExchangeRequest"
    ):
        CODEC.decode(CODEC.encode(exchange_request()) + b"\x00\x00", ExchangeRequest)


def test_garbage_body_is_a_decode_error() -> None:
    header = CODEC.encode(reply())[:10]

    with pytest.raises(DecodeError, match="Reply body is not valid Avro"):
        CODEC.decode(header + b"\x02\xff\xfe\xfd" * 8, Reply)


def test_a_negative_enum_index_is_a_decode_error_not_a_symbol_counted_from_the_end() -> None:
    as_input = CODEC.encode(audit_record())
    as_policy = CODEC.encode(audit_record().model_copy(update={"stage": AuditStage.POLICY}))
    (at,) = [i for i, (a, b) in enumerate(zip(as_input, as_policy, strict=True)) if a != b]
    negative_one = as_input[:at] + b"\x01" + as_input[at + 1 :]  # zig-zag -1

    with pytest.raises(DecodeError, match="AuditRecord body is not valid Avro"):
        CODEC.decode(negative_one, AuditRecord)


@given(st.binary(max_size=200))
def test_any_bytes_after_a_known_header_decode_or_raise_decode_error(body: bytes) -> None:
    for model_type in (ExchangeRequest, Reply, AuditRecord):
        header = CODEC.registry.get(f"dx.gateway.{model_type.__name__}").header
        with contextlib.suppress(DecodeError):
            CODEC.decode(header + body, model_type)


def test_decoding_as_the_wrong_model_names_both_types() -> None:
    with pytest.raises(
        DecodeError,
        match=re.escape("expected a dx.gateway.Reply message, got a dx.gateway.ExchangeRequest"),
    ):
        CODEC.decode(CODEC.encode(exchange_request()), Reply)


def test_avro_that_the_model_rejects_is_a_decode_error_with_the_validation_summary() -> None:
    schema = fastavro.parse_schema(avsc(ExchangeRequest))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema, exchange_request().model_dump() | {"request_id": ""})
    data = CODEC.encode(exchange_request())[:10] + body.getvalue()

    with pytest.raises(DecodeError, match="request_id: String should match pattern"):
        CODEC.decode(data, ExchangeRequest)


def test_the_validation_summary_names_no_map_key_that_is_not_name_shaped() -> None:
    fields = exchange_request().model_dump() | {"query": {"Jane Doe 1970-01-01": "x"}}
    data = CODEC.encode_fields(ExchangeRequest, fields)

    with pytest.raises(DecodeError) as caught:
        CODEC.decode(data, ExchangeRequest)

    assert "query.<key>.[key]: String should match pattern" in str(caught.value)
    assert "Jane" not in str(caught.value) and "1970" not in str(caught.value)


def test_a_model_without_a_schema_is_a_schema_error() -> None:
    class Unregistered(BaseModel):
        name: str

    with pytest.raises(SchemaError, match=re.escape("no schema named dx.gateway.Unregistered")):
        CODEC.encode(Unregistered(name="x"))


@given(
    request_id=st.from_regex(r"\A[A-Za-z0-9._:-]{1,64}\Z"),
    query=st.dictionaries(st.from_regex(r"\A[a-z][a-z0-9_]{0,20}\Z"), st.text(), max_size=6),
    wanted=st.lists(
        st.from_regex(r"\A[a-z][a-z0-9_]{0,20}(\.[a-z][a-z0-9_]{0,20}){0,3}\Z"), max_size=6
    ),
    millis=st.integers(min_value=0, max_value=253402300799999),
)
def test_any_valid_exchange_request_round_trips(
    request_id: str, query: dict[str, str], wanted: list[str], millis: int
) -> None:
    sent_at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    request = exchange_request(request_id=request_id, query=query, wanted=wanted, sent_at=sent_at)

    assert CODEC.decode(CODEC.encode(request), ExchangeRequest) == request


def test_default_codec_is_shared() -> None:
    assert Codec.default() is Codec.default()
