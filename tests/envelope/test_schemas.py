"""The schema registry, and the envelope schemas mirroring the pydantic models."""

from __future__ import annotations

import io
import json
import re
import types
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import fastavro
import pytest
from pydantic import BaseModel

from gateway.envelope import (
    AuditCheckpoint,
    AuditRecord,
    CappedRequest,
    DeadLetter,
    ExchangeRequest,
    ProviderResponse,
    Reply,
    RoutedRequest,
    SchemaRegistry,
    default_schemas_dir,
)
from gateway.errors import SchemaError, UnknownSchemaError

ENVELOPE_FILES: dict[str, type[BaseModel]] = {
    "request.avsc": ExchangeRequest,
    "routed_request.avsc": RoutedRequest,
    "provider_response.avsc": ProviderResponse,
    "reply.avsc": Reply,
    "audit_record.avsc": AuditRecord,
    "audit_checkpoint.avsc": AuditCheckpoint,
    "dead_letter.avsc": DeadLetter,
    "capped_request.avsc": CappedRequest,
}
DATASET_NAMES = {
    "dx.datasets.ImmigrationStatus",
    "dx.datasets.SchoolCensusPupil",
    "dx.datasets.EmploymentAndProperty",
    "dx.datasets.BenefitClaim",
    "dx.datasets.OverseasVisitorCharging",
}
RECORD = '{"type": "record", "name": "Thing", "namespace": "t", "fields": []}'


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry.from_dir(default_schemas_dir())


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- registry ---------------------------------------------------------------------------------


def test_registry_loads_every_envelope_and_dataset_schema(registry: SchemaRegistry) -> None:
    envelope = {f"dx.gateway.{m.__name__}" for m in ENVELOPE_FILES.values()}

    assert set(registry.names) == envelope | DATASET_NAMES


def test_fingerprint_is_fastavro_crc64_of_the_canonical_form(registry: SchemaRegistry) -> None:
    for schema in registry:
        canonical = fastavro.schema.to_parsing_canonical_form(json.loads(schema.path.read_text()))
        assert schema.canonical_form == canonical
        assert schema.fingerprint.hex() == fastavro.schema.fingerprint(canonical, "CRC-64-AVRO")
        assert schema.header == b"\xc3\x01" + schema.fingerprint


def test_schemas_are_found_by_name_and_by_fingerprint(registry: SchemaRegistry) -> None:
    reply = registry.get("dx.gateway.Reply")

    assert registry.by_fingerprint(reply.fingerprint) is reply
    assert "dx.gateway.Reply" in registry
    assert len(registry) == len(registry.names)


def test_unknown_name_is_a_schema_error(registry: SchemaRegistry) -> None:
    with pytest.raises(SchemaError, match=re.escape("no schema named dx.gateway.Nope")):
        registry.get("dx.gateway.Nope")


def test_unknown_fingerprint_is_an_unknown_schema_error_in_hex(registry: SchemaRegistry) -> None:
    with pytest.raises(UnknownSchemaError, match="unknown schema fingerprint 00000000000000ff"):
        registry.by_fingerprint(bytes(7) + b"\xff")


def test_schemas_are_found_in_subdirectories(tmp_path: Path) -> None:
    write(tmp_path, "deep/er/thing.avsc", RECORD)

    assert SchemaRegistry.from_dir(tmp_path).names == ["t.Thing"]


def test_default_schemas_dir_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert (default_schemas_dir() / "request.avsc").is_file()
    assert default_schemas_dir().is_absolute()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ('"string"', "must hold one Avro record schema"),
        (
            '{"type": "record", "name": "T", "fields": [{"name": "a", "type": "nope"}]}',
            "not a valid Avro schema",
        ),
        ('{"type": "record", "name": "T", "fields": [{"name": "a"}]}', "not a valid Avro schema"),
    ],
    ids=["bad-json", "not-a-record", "unknown-type", "field-without-type"],
)
def test_a_bad_schema_file_is_a_schema_error_naming_the_file(
    tmp_path: Path, text: str, problem: str
) -> None:
    bad = write(tmp_path, "broken.avsc", text)

    with pytest.raises(SchemaError, match=problem) as caught:
        SchemaRegistry.from_dir(tmp_path)
    assert str(bad) in str(caught.value)


def test_a_name_defined_in_two_files_is_a_schema_error_naming_both(tmp_path: Path) -> None:
    first = write(tmp_path, "a.avsc", RECORD)
    second = write(tmp_path, "b.avsc", RECORD.replace("[]", '[{"name": "x", "type": "int"}]'))

    with pytest.raises(SchemaError, match=re.escape("t.Thing is defined twice")) as caught:
        SchemaRegistry.from_dir(tmp_path)
    assert str(first) in str(caught.value) and str(second) in str(caught.value)


def test_a_missing_or_empty_directory_is_a_schema_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="does not exist"):
        SchemaRegistry.from_dir(tmp_path / "absent")
    with pytest.raises(SchemaError, match=re.escape("no *.avsc files")):
        SchemaRegistry.from_dir(tmp_path)


# --- envelope schemas mirror the models ---------------------------------------------------------


def shape_of_annotation(annotation: Any) -> Any:
    """A comparable description of the Avro type a model annotation should map to."""
    if get_origin(annotation) is Annotated:  # constraints do not change the Avro type
        return shape_of_annotation(get_args(annotation)[0])
    args = get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        assert len(rest) == 1, annotation
        return ("union", "null", shape_of_annotation(rest[0]))
    if get_origin(annotation) is list:
        return ("array", shape_of_annotation(args[0]))
    if get_origin(annotation) is dict:
        assert [shape_of_annotation(a) for a in args] == ["string", "string"], annotation
        return ("map", "string")
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return ("enum", annotation.__name__, tuple(e.value for e in annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = annotation.model_fields
        return (
            "record",
            annotation.__name__,
            tuple((n, shape_of_annotation(f.annotation)) for n, f in fields.items()),
        )
    return {
        str: "string",
        int: "long",
        bool: "boolean",
        bytes: "bytes",
        datetime: ("long", "timestamp-millis"),
    }[annotation]


def shape_of_avro(avro: Any) -> Any:
    """The same description, read from an Avro type."""
    if isinstance(avro, list):
        assert avro[0] == "null" and len(avro) == 2, avro
        return ("union", "null", shape_of_avro(avro[1]))
    if isinstance(avro, str):
        return avro
    kind = avro["type"]
    if "logicalType" in avro:
        return (kind, avro["logicalType"])
    if kind == "array":
        return ("array", shape_of_avro(avro["items"]))
    if kind == "map":
        return ("map", shape_of_avro(avro["values"]))
    if kind == "enum":
        return ("enum", avro["name"], tuple(avro["symbols"]))
    assert kind == "record", avro
    return (
        "record",
        avro["name"],
        tuple((f["name"], shape_of_avro(f["type"])) for f in avro["fields"]),
    )


@pytest.mark.parametrize("filename", ENVELOPE_FILES)
def test_envelope_schema_mirrors_its_model_field_by_field(filename: str) -> None:
    model = ENVELOPE_FILES[filename]
    schema = json.loads((default_schemas_dir() / filename).read_text())

    assert schema["namespace"] == "dx.gateway"
    assert schema["doc"]
    assert shape_of_avro(schema) == shape_of_annotation(model)


@pytest.mark.parametrize("filename", ENVELOPE_FILES)
def test_envelope_schema_defaults_are_the_model_defaults(filename: str) -> None:
    model = ENVELOPE_FILES[filename]
    schema = json.loads((default_schemas_dir() / filename).read_text())

    for field in schema["fields"]:
        info = model.model_fields[field["name"]]
        if info.is_required():
            assert "default" not in field, field["name"]
        else:
            assert field["default"] == info.get_default(call_default_factory=True), field["name"]


@pytest.mark.parametrize("filename", ["audit_record.avsc", "audit_checkpoint.avsc"])
def test_audit_messages_start_with_the_chain_link_so_a_verifier_need_not_decode_them(
    filename: str,
) -> None:
    schema = json.loads((default_schemas_dir() / filename).read_text())

    first_two = [(f["name"], f["type"]) for f in schema["fields"][:2]]
    assert first_two == [("prev_hash", "string"), ("sequence", "long")]


def test_an_audit_record_written_before_sent_at_was_audited_reads_with_it_null(
    registry: SchemaRegistry,
) -> None:
    """By Avro's schema resolution: the field was added with a default, at the end."""
    current = json.loads((default_schemas_dir() / "audit_record.avsc").read_text())
    before = {**current, "fields": [f for f in current["fields"] if f["name"] != "sent_at"]}
    record = {
        "prev_hash": "",
        "sequence": -1,
        "decision_id": "d",
        "request_id": "r",
        "stage": "REQUEST",
        "at": datetime(2026, 11, 26, tzinfo=UTC),
        "requester": "nhs",
        "provider": "ho",
        "agreement_id": "nhs-ho-status-check",
        "purpose": "overseas-visitor-charging",
        "outcome": "APPROVED",
        "reasons": [],
        "policy_version": "v",
        "input_topic": "dx.requests.nhs",
        "input_partition": 0,
        "input_offset": 0,
        "gateway_instance": "gw",
    }
    old = io.BytesIO()
    fastavro.schemaless_writer(old, fastavro.parse_schema(before), record)
    old.seek(0)

    read = fastavro.schemaless_reader(
        old, fastavro.parse_schema(before), registry.get("dx.gateway.AuditRecord").parsed
    )

    assert AuditRecord.model_validate(read).sent_at is None
    assert AuditRecord.model_validate(record).sent_at is None  # an old export's JSON, too
