"""The generated readers and writers are Python a reader can follow: their source is shown by
``inspect.getsource`` and in tracebacks, under a filename naming the schema."""

from __future__ import annotations

import inspect
import traceback
from typing import Any

import pytest

from gateway.envelope.binary import compile_columns_reader, compile_reader, compile_writer
from gateway.envelope.codec import Codec

REGISTRY = Codec.default().registry
REPLY = REGISTRY.get("dx.gateway.Reply")


def test_a_reader_shows_its_source_with_a_local_and_a_comment_per_field() -> None:
    source = inspect.getsource(compile_reader(REPLY.parsed, native=False))

    assert source.startswith("def read_dx_gateway_Reply(data, pos):")
    for field in REPLY.parsed["fields"]:
        assert f"# {field['name']}: " in source
        assert f"    {field['name']} = " in source


def test_a_writer_error_points_at_the_generated_line_that_failed() -> None:
    record: dict[str, Any] = {"request_id": 42}
    with pytest.raises(AttributeError) as caught:
        compile_writer(REPLY.parsed)([], record)

    last = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert last.filename == "<avro writer dx.gateway.Reply>"
    assert last.line == "encoded = record['request_id'].encode()"


def test_a_reader_error_points_at_the_generated_line_that_failed() -> None:
    out: list[bytes] = []
    REPLY.write(out, _reply())
    data = bytearray(b"".join(out))
    outcome = data.index(b"the-purpose") + len(b"the-purpose")  # the enum after the purpose
    data[outcome] = 0x7F  # index -64

    with pytest.raises(ValueError, match="enum index") as caught:
        REPLY.read(bytes(data), 0)

    last = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert last.filename == "<avro reader dx.gateway.Reply>"
    assert last.line == 'raise ValueError("enum index out of range")'


def test_the_columns_form_is_the_same_generator_under_its_own_name() -> None:
    audit = REGISTRY.get("dx.gateway.AuditRecord")
    read = compile_columns_reader(
        audit.parsed, audit.header, parameters=("topic",), columns=("decision_id", "topic")
    )

    filename = inspect.getsourcefile(read) or ""
    assert filename.startswith("<avro columns reader dx.gateway.AuditRecord")
    assert "# reasons: array of record dx.gateway.Reason" in inspect.getsource(read)


def _reply() -> dict[str, Any]:
    from datetime import UTC, datetime

    return {
        "request_id": "r",
        "requester": "nhs",
        "provider": "ho",
        "agreement_id": "a",
        "purpose": "the-purpose",
        "outcome": "DENIED",
        "reasons": [],
        "status": None,
        "record_json": None,
        "released_fields": [],
        "withheld_fields": [],
        "removed_query_fields": [],
        "policy_version": "v",
        "replied_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
