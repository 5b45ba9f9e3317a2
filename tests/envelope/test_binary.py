"""The compiled Avro encoding writes and reads exactly the bytes fastavro does."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastavro import schemaless_reader, schemaless_writer
from hypothesis import given
from hypothesis import strategies as st

from gateway.envelope.binary import compile_reader, compile_writer
from gateway.envelope.codec import Codec
from gateway.envelope.datasets import DATASET_BY_PROVIDER
from gateway.errors import SchemaError
from gateway.synthetic.datasets import PROVIDERS, generate

REGISTRY = Codec.default().registry


def fastavro_bytes(parsed: Any, record: Any) -> bytes:
    out = io.BytesIO()
    schemaless_writer(out, parsed, record)
    return out.getvalue()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_dataset_records_encode_to_fastavros_bytes_and_decode_to_its_values(provider: str) -> None:
    parsed = REGISTRY.get(DATASET_BY_PROVIDER[provider]).parsed
    write, read = compile_writer(parsed), compile_reader(parsed)
    for record in generate(provider, 25):
        expected = fastavro_bytes(parsed, record)
        out: list[bytes] = []
        write(out, record)
        assert b"".join(out) == expected
        value, end = read(expected, 0)
        assert end == len(expected)
        assert value == schemaless_reader(io.BytesIO(expected), parsed, None)


REQUEST = REGISTRY.get("dx.gateway.ExchangeRequest").parsed


@given(
    request_id=st.text(min_size=1),
    query=st.dictionaries(st.text(), st.text(), max_size=5),
    wanted=st.lists(st.text(), max_size=5),
    millis=st.integers(min_value=-(2**40), max_value=2**42),
)
def test_any_request_encodes_to_fastavros_bytes(
    request_id: str, query: dict[str, str], wanted: list[str], millis: int
) -> None:
    from datetime import UTC, datetime, timedelta

    record = {
        "request_id": request_id,
        "requester": "nhs",
        "provider": "ho",
        "agreement_id": "a",
        "purpose": "p",
        "query": query,
        "wanted": wanted,
        "sent_at": datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis),
    }
    out: list[bytes] = []
    compile_writer(REQUEST)(out, record)
    data = b"".join(out)
    assert data == fastavro_bytes(REQUEST, record)
    assert compile_reader(REQUEST)(data, 0) == (record, len(data))


OPTIONAL_TIME = {
    "type": "record",
    "name": "WithOptionalTime",
    "fields": [
        {"name": "before", "type": "string"},
        {"name": "at", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
        {"name": "after", "type": "long"},
    ],
}


@given(millis=st.none() | st.integers(min_value=-(2**42), max_value=2**42))
def test_an_optional_timestamp_encodes_to_fastavros_bytes_and_reads_back(
    millis: int | None,
) -> None:
    """The straight-line form of ``["null", timestamp-millis]`` (an audit record's sent_at)."""
    from datetime import UTC, datetime, timedelta

    from fastavro import parse_schema

    parsed = parse_schema(OPTIONAL_TIME)
    at = (
        None
        if millis is None
        else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    )
    record = {"before": "b", "at": at, "after": 7}
    out: list[bytes] = []
    compile_writer(parsed)(out, record)
    data = b"".join(out)

    assert data == fastavro_bytes(parsed, record)
    assert compile_reader(parsed)(data, 0) == (record, len(data))


def test_a_naive_optional_timestamp_is_refused() -> None:
    from datetime import datetime

    from fastavro import parse_schema

    with pytest.raises(ValueError, match="timezone-aware"):
        compile_writer(parse_schema(OPTIONAL_TIME))(
            [], {"before": "", "at": datetime(2026, 1, 1), "after": 0}
        )


def test_a_schema_using_an_unsupported_union_is_refused_when_compiled() -> None:
    schema = {"type": "record", "name": "X", "fields": [{"name": "a", "type": ["int", "string"]}]}
    with pytest.raises(SchemaError, match="unsupported union"):
        compile_writer(schema)
    with pytest.raises(SchemaError, match="unsupported union"):
        compile_reader(schema)


AUDIT = REGISTRY.get("dx.gateway.AuditRecord").parsed
_NAMES_LIST = st.lists(st.sampled_from(["surname", "person_id", "zoë", "a.b[]", ""]), max_size=4)


@given(
    lists=st.lists(
        st.tuples(_NAMES_LIST, _NAMES_LIST, _NAMES_LIST, _NAMES_LIST), min_size=1, max_size=6
    )
)
def test_envelope_name_lists_encode_to_fastavros_bytes_whether_remembered_or_not(
    lists: list[tuple[list[str], ...]],
) -> None:
    """The field-name arrays of audit records are remembered by content: encoding the same
    lists again, in other fields or in other orders, still gives fastavro's bytes."""
    from datetime import UTC, datetime

    from gateway.envelope import binary

    write = compile_writer(AUDIT)
    for n, (requested, released, transformed, withheld) in enumerate(lists):
        if n == 3:
            binary._NAME_BLOCKS.clear()
        record = {
            "prev_hash": "",
            "sequence": n,
            "decision_id": "d",
            "request_id": None,
            "stage": "REQUEST",
            "at": datetime(2026, 1, 1, tzinfo=UTC),
            "requester": None,
            "provider": None,
            "agreement_id": None,
            "purpose": None,
            "outcome": "DENIED",
            "reasons": [],
            "fields_requested": requested,
            "fields_released": tuple(released),
            "fields_transformed": transformed,
            "fields_withheld": withheld,
            "subject_key": None,
            "policy_version": "v",
            "input_topic": "t",
            "input_partition": 0,
            "input_offset": n,
            "gateway_instance": "gw",
            "sent_at": None,
        }
        out: list[bytes] = []
        write(out, record)
        assert b"".join(out) == fastavro_bytes(AUDIT, record)


@pytest.mark.parametrize(
    ("namespace", "remembered"), [("dx.datasets", False), ("dx.gateway", True)]
)
def test_only_envelope_records_string_arrays_are_remembered(
    namespace: str, remembered: bool
) -> None:
    """Envelope arrays hold names; a dataset's array may hold personal data, never kept."""
    from gateway.envelope import binary

    schema = {
        "type": "record",
        "name": f"{namespace}.Person",
        "fields": [{"name": "aliases", "type": {"type": "array", "items": "string"}}],
    }
    write = compile_writer(schema)
    binary._NAME_BLOCKS.clear()
    out: list[bytes] = []
    write(out, {"aliases": ["Zoë Smith", "Z Smith"]})

    assert b"".join(out) == fastavro_bytes(schema, {"aliases": ["Zoë Smith", "Z Smith"]})
    assert (("Zoë Smith", "Z Smith") in binary._NAME_BLOCKS) is remembered
