"""Schema resolution: bytes fastavro wrote with an earlier schema read into the current one as
fastavro itself resolves them, and a change the current schema cannot read is refused when the
reader is compiled."""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from gateway.envelope.binary import compile_reader
from gateway.envelope.codec import Codec
from gateway.envelope.models import Reply
from gateway.envelope.schemas import MARKER, SchemaRegistry, default_schemas_dir
from gateway.errors import DecodeError, SchemaError


def address(*added: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "record",
        "name": "Address",
        "fields": [{"name": "postcode", "type": "string"}, *added],
    }


OLD: dict[str, Any] = {
    "type": "record",
    "name": "dx.datasets.Person",
    "fields": [
        {"name": "person_id", "type": "string"},
        {"name": "nickname", "type": ["null", "string"]},
        {"name": "visits", "type": "int"},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["A", "B"]}},
        {"name": "addresses", "type": {"type": "array", "items": address()}},
        {"name": "notes", "type": {"type": "map", "values": "long"}},
    ],
}
NEW: dict[str, Any] = {
    "type": "record",
    "name": "dx.datasets.Person",
    "fields": [
        {"name": "person_id", "type": "string"},
        {"name": "visits", "type": "long"},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["A", "B", "C"]}},
        {
            "name": "addresses",
            "type": {
                "type": "array",
                "items": address({"name": "country", "type": "string", "default": "GB"}),
            },
        },
        {"name": "notes", "type": {"type": "map", "values": "double"}},
        {"name": "aliases", "type": {"type": "array", "items": "string"}, "default": []},
        {"name": "verified", "type": ["null", "boolean"], "default": None},
        {"name": "score", "type": "long", "default": 7},
    ],
}
RECORDS = [
    {
        "person_id": "p-1",
        "nickname": None,
        "visits": 0,
        "status": "A",
        "addresses": [],
        "notes": {},
    },
    {
        "person_id": "p-2 zoë",
        "nickname": "Zo",
        "visits": -(2**31),
        "status": "B",
        "addresses": [{"postcode": "AB1 2CD"}, {"postcode": ""}],
        "notes": {"a": 1, "b": -(2**40)},
    },
]


def written(schema: Any, record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    schemaless_writer(out, parse_schema(schema), record)
    return out.getvalue()


@pytest.mark.parametrize("record", RECORDS)
def test_bytes_of_an_older_schema_read_into_the_new_as_fastavro_resolves_them(
    record: dict[str, Any],
) -> None:
    """Fields removed are skipped, fields added take their defaults (in nested records too),
    ints widen to longs and longs to doubles, and an enum may gain symbols."""
    data = written(OLD, record)
    read = compile_reader(parse_schema(NEW), writer=parse_schema(OLD))

    value, end = read(data, 0)

    assert end == len(data)
    assert value == schemaless_reader(io.BytesIO(data), parse_schema(OLD), parse_schema(NEW))
    assert value["aliases"] == [] and value["verified"] is None and value["score"] == 7
    assert "nickname" not in value


def test_each_record_read_gets_its_own_copy_of_a_list_default() -> None:
    read = compile_reader(parse_schema(NEW), writer=parse_schema(OLD))
    first, _ = read(written(OLD, RECORDS[0]), 0)
    first["aliases"].append("changed")

    assert read(written(OLD, RECORDS[0]), 0)[0]["aliases"] == []


def test_a_time_default_reads_as_the_time_it_names() -> None:
    new = {
        **OLD,
        "fields": [
            *OLD["fields"],
            {
                "name": "seen_at",
                "type": {"type": "long", "logicalType": "timestamp-millis"},
                "default": 86_400_000,
            },
        ],
    }
    value, _ = compile_reader(parse_schema(new), writer=parse_schema(OLD))(
        written(OLD, RECORDS[0]), 0
    )

    assert value["seen_at"] == datetime(1970, 1, 2, tzinfo=UTC)


def _changed(name: str, **field: Any) -> dict[str, Any]:
    """NEW with field ``name`` replaced (or added) by ``field``."""
    kept = [f for f in NEW["fields"] if f["name"] != name]
    return {**NEW, "fields": [*kept, {"name": name, **field}]}


@pytest.mark.parametrize(
    ("reader", "problem"),
    [
        (_changed("age", type="long"), "'age' is not in the writer's schema and has no default"),
        (_changed("person_id", type="long"), "string cannot be read as long"),
        (_changed("visits", type="string"), "int cannot be read as string"),
        (_changed("status", type={"type": "enum", "name": "Status", "symbols": ["A"]}), "'B'"),
        (
            _changed(
                "addresses",
                type={"type": "array", "items": {"type": "record", "name": "Place", "fields": []}},
            ),
            "record dx.datasets.Address cannot be read as",
        ),
        (_changed("notes", type={"type": "array", "items": "long"}), "cannot be read as"),
        ({**NEW, "name": "dx.datasets.Organisation"}, "cannot be read as"),
    ],
    ids=[
        "added without default",
        "string to long",
        "int to string",
        "enum symbol lost",
        "record renamed",
        "map to array",
        "other record",
    ],
)
def test_a_change_the_reader_cannot_resolve_is_a_schema_error(
    reader: dict[str, Any], problem: str
) -> None:
    with pytest.raises(SchemaError, match=problem):
        compile_reader(parse_schema(reader, named_schemas={}), writer=parse_schema(OLD))


def test_an_optional_field_made_required_reads_values_and_refuses_a_null() -> None:
    required = _changed("nickname", type="string")
    read = compile_reader(parse_schema(required, named_schemas={}), writer=parse_schema(OLD))

    assert read(written(OLD, RECORDS[1]), 0)[0]["nickname"] == "Zo"
    with pytest.raises(ValueError, match="null where string is required"):
        read(written(OLD, RECORDS[0]), 0)


# --- the registry and the codec ---------------------------------------------------------------


def single_object(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    """A message as another producer writes it with ``schema``: header, then fastavro's body."""
    canonical = to_parsing_canonical_form(schema)
    return MARKER + bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")) + written(schema, record)


def schema_dir(tmp_path: Path, current: dict[str, Any], *earlier: dict[str, Any]) -> Path:
    (tmp_path / "previous").mkdir()
    (tmp_path / "person.avsc").write_text(json.dumps(current))
    for n, schema in enumerate(earlier, 1):
        (tmp_path / "previous" / f"person.{n}.avsc").write_text(json.dumps(schema))
    return tmp_path


def test_the_codec_decodes_a_record_written_with_an_earlier_version_into_the_current(
    tmp_path: Path,
) -> None:
    codec = Codec(SchemaRegistry.from_dir(schema_dir(tmp_path, NEW, OLD)))
    data = single_object(OLD, RECORDS[1])
    expected = schemaless_reader(io.BytesIO(data[10:]), parse_schema(OLD), parse_schema(NEW))

    assert codec.decode_record(data) == ("dx.datasets.Person", expected)
    assert codec.decode_record_as(data, "dx.datasets.Person") == expected
    assert codec.registry.names == ["dx.datasets.Person"]


def test_an_earlier_version_of_another_schema_is_still_the_wrong_message(tmp_path: Path) -> None:
    schemas = schema_dir(tmp_path, NEW, OLD)
    (schemas / "other.avsc").write_text(
        json.dumps({"type": "record", "name": "dx.datasets.Other", "fields": []})
    )
    codec = Codec(SchemaRegistry.from_dir(schemas))

    with pytest.raises(DecodeError, match=r"expected a dx\.datasets\.Other message, got a dx"):
        codec.decode_record_as(single_object(OLD, RECORDS[0]), "dx.datasets.Other")


def test_an_earlier_version_the_current_cannot_read_is_refused_when_loading(
    tmp_path: Path,
) -> None:
    incompatible = {**OLD, "fields": [{"name": "person_id", "type": "long"}]}

    with pytest.raises(SchemaError, match=r"person\.1\.avsc cannot be read as the current"):
        SchemaRegistry.from_dir(schema_dir(tmp_path, NEW, incompatible))


def test_an_earlier_version_of_a_schema_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    other = {"type": "record", "name": "dx.datasets.Gone", "fields": []}

    with pytest.raises(SchemaError, match=r"earlier dx\.datasets\.Gone, which has no schema"):
        SchemaRegistry.from_dir(schema_dir(tmp_path, NEW, other))


def test_a_reply_from_before_a_list_field_was_added_decodes_as_a_reply(tmp_path: Path) -> None:
    """An envelope model's earlier schema: the field added since takes its default."""
    shutil.copytree(default_schemas_dir(), tmp_path / "schemas")
    current = json.loads((tmp_path / "schemas" / "reply.avsc").read_text())
    older = {
        **current,
        "fields": [f for f in current["fields"] if f["name"] != "removed_query_fields"],
    }
    (tmp_path / "schemas" / "previous").mkdir()
    (tmp_path / "schemas" / "previous" / "reply.1.avsc").write_text(json.dumps(older))
    codec = Codec(SchemaRegistry.from_dir(tmp_path / "schemas"))
    fields = {
        "request_id": "r-1",
        "requester": "nhs",
        "provider": "ho",
        "agreement_id": "nhs-ho",
        "purpose": "care",
        "outcome": "APPROVED",
        "reasons": [{"code": "c", "message": "m"}],
        "status": "FOUND",
        "record_json": "{}",
        "released_fields": ["immigration_status"],
        "withheld_fields": [],
        "policy_version": "v1",
        "replied_at": datetime(2026, 5, 1, tzinfo=UTC),
    }

    reply = codec.decode(single_object(older, fields), Reply)

    assert reply == Reply(**fields, removed_query_fields=[])
