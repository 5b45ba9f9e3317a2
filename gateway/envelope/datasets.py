"""The providers' dataset schemas: which department serves which record, and its field paths.

Field paths name data, never values: ``surname``, ``address.postcode`` for a field of a nested
record, ``employments[].employer_name`` for a field of each record in an array. A field that
holds anything other than a record (or an array of records) is a leaf, whatever its type.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, cast

from fastavro.schema import parse_schema

__all__ = ["DATASET_BY_PROVIDER", "SUBJECT_IDENTIFIER_BY_PROVIDER", "field_paths"]

DATASET_BY_PROVIDER: Mapping[str, str] = MappingProxyType(
    {
        "ho": "dx.datasets.ImmigrationStatus",
        "dfe": "dx.datasets.SchoolCensusPupil",
        "hmrc": "dx.datasets.EmploymentAndProperty",
        "dwp": "dx.datasets.BenefitClaim",
        "nhs": "dx.datasets.OverseasVisitorCharging",
    }
)
"""Providing department -> full name of the dataset schema its records use."""

SUBJECT_IDENTIFIER_BY_PROVIDER: Mapping[str, str] = MappingProxyType(
    {
        "ho": "person_id",
        "dfe": "upn",
        "hmrc": "nino",
        "dwp": "nino",
        "nhs": "nhs_number",
    }
)
"""Providing department -> the top-level field that identifies the subject of a record."""

_Named = dict[str, Any]


def field_paths(schema: Mapping[str, Any]) -> list[str]:
    """Every leaf field path of a record schema (raw or fastavro-parsed), in schema order."""
    parsed = cast(dict[str, Any], parse_schema(dict(schema)))
    named: _Named = {}
    paths: list[str] = []
    _walk_record(parsed, "", named, paths)
    return paths


def _walk_record(record: Mapping[str, Any], prefix: str, named: _Named, out: list[str]) -> None:
    named[record["name"]] = record
    for field in record["fields"]:
        path = prefix + field["name"]
        ftype = _resolve(_unwrap_nullable(field["type"]), named)
        if _is_record(ftype):
            _walk_record(ftype, path + ".", named, out)
            continue
        if isinstance(ftype, dict) and ftype.get("type") == "array":
            items = _resolve(_unwrap_nullable(ftype["items"]), named)
            if _is_record(items):
                _walk_record(items, path + "[].", named, out)
                continue
        out.append(path)


def _unwrap_nullable(avro_type: Any) -> Any:
    """The one non-null branch of a ``["null", X]`` union; anything else unchanged."""
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        if len(branches) == 1:
            return branches[0]
    return avro_type


def _resolve(avro_type: Any, named: _Named) -> Any:
    """A named type's definition when ``avro_type`` refers to one by name."""
    if isinstance(avro_type, str):
        return named.get(avro_type, avro_type)
    return avro_type


def _is_record(avro_type: Any) -> bool:
    return isinstance(avro_type, dict) and avro_type.get("type") == "record"
