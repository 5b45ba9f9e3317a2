"""A message template filled in C gives the generated Python template's bytes, for every schema,
any choice of holes and any values: where it is not sure of a value it writes nothing, and the
Python template writes or refuses the message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from avro_support import EPOCH, SCHEMAS, values
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.envelope.binary import compile_template
from gateway.envelope.binary._types import named_types
from gateway.envelope.binary.native import TemplateWriters
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditRecord, AuditStage
from gateway.exchange.auditing import TEMPLATE_HOLES

HEADER = b"\xc3\x01HEADER!!"
ODD_VALUES = st.sampled_from(
    [
        None,
        True,
        2**64,
        -(2**63) - 1,
        "\ud800",
        b"bytes",
        1.5,
        {"k": 1},
        {1: "v"},
        datetime(2026, 1, 1),  # naive
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))),
        EPOCH - timedelta(microseconds=1),
    ]
)
"""Values of the wrong type or out of the usual range, for any hole."""


def python_message(write: Any, holes: dict[str, Any]) -> Any:
    """The Python template's bytes, or its error's type and message."""
    out = [HEADER]
    try:
        write(out, holes)
    except Exception as exc:
        return type(exc), str(exc)
    return b"".join(out)


def fillable(schema: Any, named: dict[str, Any]) -> bool:
    schema = named.get(schema, schema) if isinstance(schema, str) else schema
    if isinstance(schema, list):
        return fillable(schema[1], named)
    if isinstance(schema, dict):
        if schema["type"] == "map":
            return bool(schema["values"] == "string")
        return schema.get("logicalType") == "timestamp-millis"
    return schema in ("string", "int", "long")


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_template_writes_the_python_templates_bytes(name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    named = named_types(schema)
    record = data.draw(values(schema, named))
    candidates = [f["name"] for f in schema["fields"] if fillable(f["type"], named)]
    holes = data.draw(st.sets(st.sampled_from(candidates))) if candidates else set()
    types = {f["name"]: f["type"] for f in schema["fields"]}
    odd = {hole for hole in holes if data.draw(st.booleans())}
    filled = {
        hole: data.draw(ODD_VALUES if hole in odd else values(types[hole], named)) for hole in holes
    }

    write = compile_template(schema, holes)(record)
    native = TemplateWriters(schema, HEADER).writer(write.segments)  # type: ignore[attr-defined]
    assert native is not None
    expected = python_message(write, filled)
    message = native(filled)

    if message is not None:
        assert message == expected
    else:
        assert odd, "the C template refused values of the hole's own type"


def test_the_audit_records_template_is_filled_in_c() -> None:
    codec = Codec.default()
    now = datetime(2026, 12, 4, 12, 30, 15, 999_999, tzinfo=UTC)
    constants = {
        "request_id": None,
        "stage": AuditStage.REQUEST,
        "requester": "nhs",
        "provider": "ho",
        "agreement_id": "nhs-ho",
        "purpose": "charging",
        "outcome": "APPROVED",
        "reasons": [],
        "fields_requested": ["nationality"],
        "fields_released": [],
        "fields_withheld": [],
        "fields_transformed": [],
        "policy_version": "v1",
        "input_topic": "dx.requests.nhs",
        "gateway_instance": "gw-1",
    }
    holes = {"request_id", "subject_key", "sent_at", *TEMPLATE_HOLES}
    template = codec.template(AuditRecord, constants, holes)
    values_ = {
        "prev_hash": "ab" * 32,
        "sequence": 2**40,
        "decision_id": "0f" * 16,
        "request_id": "nhs-1",
        "at": now,
        "subject_key": None,
        "input_partition": 3,
        "input_offset": 1_234_567,
        "sent_at": now - timedelta(days=20_000),
    }
    assert template._native is not None
    message = template._native(values_)

    assert message is not None
    assert message == codec.encode_fields(AuditRecord, {**constants, **values_})
