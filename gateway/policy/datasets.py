"""The providers' dataset shapes, as the compiler checks agreements against them.

Every field path an agreement names must exist in its provider's dataset schema
(:func:`gateway.envelope.datasets.field_paths`), and each transform must suit the field's type:
a misspelt path would otherwise release nothing, or a transform meant for a date would meet text.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from fastavro.schema import parse_schema

from gateway.envelope.datasets import DATASET_BY_PROVIDER, field_paths
from gateway.envelope.schemas import SchemaRegistry, default_schemas_dir
from gateway.redaction.transforms import TransformKind, TransformSpec

__all__ = ["DatasetShape", "LeafKind", "dataset_shape", "shipped_datasets"]


class LeafKind(StrEnum):
    """What a leaf field holds, as far as transforms care."""

    TEXT = "text"
    DATE = "date"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ENUM = "enum"
    LIST = "list"
    OTHER = "other"


_PRIMITIVE_KINDS = {
    "string": LeafKind.TEXT,
    "int": LeafKind.NUMBER,
    "long": LeafKind.NUMBER,
    "float": LeafKind.NUMBER,
    "double": LeafKind.NUMBER,
    "boolean": LeafKind.BOOLEAN,
}
_DATE_TYPES = frozenset({"date", "timestamp-millis", "timestamp-micros"})


@dataclass(frozen=True, slots=True)
class DatasetShape:
    """One dataset's leaf field paths and what each holds."""

    name: str
    leaves: Mapping[str, LeafKind]

    def covers(self, path: str) -> bool:
        """Whether ``path`` names a leaf, a record or list of records, or each item of a list."""
        if path in self.leaves:
            return True
        if path.endswith("[]") and self.leaves.get(path[:-2]) is LeafKind.LIST:
            return True
        return any(leaf.startswith((path + ".", path + "[")) for leaf in self.leaves)

    def suggest(self, path: str) -> str:
        """A ``" (did you mean ...?)"`` hint for a path that is not in the dataset, or ""."""
        close = difflib.get_close_matches(path, list(self.leaves), n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def transform_problem(self, path: str, spec: TransformSpec) -> str | None:
        """Why ``spec`` cannot apply to ``path``, or None if it can."""
        kind = spec.kind
        if kind in (TransformKind.KEEP, TransformKind.DROP):
            return None
        leaf = self.leaves.get(path)
        if leaf is None:
            return f"{kind.value} applies to single values, and {path!r} is not one"
        if kind in (TransformKind.MASK, TransformKind.TRUNCATE):
            return None if leaf is LeafKind.TEXT else f"{kind.value} applies to text"
        if kind is TransformKind.PSEUDONYM:
            if leaf in (LeafKind.TEXT, LeafKind.NUMBER):
                return None
            return "pseudonym applies to text and numbers (a yes/no or a code list is guessable)"
        if leaf is LeafKind.NUMBER:
            return None if spec.band is not None else "generalise a number with {band: N}"
        if spec.band is not None:
            return "band applies to numbers only"
        if leaf is LeafKind.DATE or (
            leaf is LeafKind.TEXT and path.rsplit(".", 1)[-1] == "postcode"
        ):
            return None
        return "generalise applies to dates, numbers and postcodes"


def dataset_shape(schema: Mapping[str, Any]) -> DatasetShape:
    """The shape of one record schema (raw or fastavro-parsed)."""
    parsed = cast(dict[str, Any], parse_schema(dict(schema)))
    kinds: dict[str, LeafKind] = {}
    _walk(parsed, "", {}, kinds)
    leaves = {path: kinds.get(path, LeafKind.OTHER) for path in field_paths(schema)}
    return DatasetShape(name=str(parsed["name"]), leaves=MappingProxyType(leaves))


def shipped_datasets(schemas_dir: Path | None = None) -> Mapping[str, DatasetShape]:
    """Providing department -> the shape of its dataset, from ``schemas/`` (read once)."""
    return _shipped(str(schemas_dir or default_schemas_dir()))


@lru_cache(maxsize=4)
def _shipped(schemas_dir: str) -> Mapping[str, DatasetShape]:
    registry = SchemaRegistry.from_dir(schemas_dir)
    shapes = {
        provider: dataset_shape(registry.get(name).parsed)
        for provider, name in DATASET_BY_PROVIDER.items()
        if name in registry
    }
    return MappingProxyType(shapes)


def _walk(
    record: Mapping[str, Any], prefix: str, named: dict[str, Any], out: dict[str, LeafKind]
) -> None:
    named[record["name"]] = record
    for field in record["fields"]:
        path = prefix + field["name"]
        ftype = _resolve(_non_null(field["type"]), named)
        if isinstance(ftype, dict) and ftype.get("type") == "record":
            _walk(ftype, path + ".", named, out)
            continue
        if isinstance(ftype, dict) and ftype.get("type") == "array":
            items = _resolve(_non_null(ftype["items"]), named)
            if isinstance(items, dict) and items.get("type") == "record":
                _walk(items, path + "[].", named, out)
                continue
        out[path] = _kind(ftype)


def _kind(avro_type: Any) -> LeafKind:
    if isinstance(avro_type, str):
        return _PRIMITIVE_KINDS.get(avro_type, LeafKind.OTHER)
    if isinstance(avro_type, dict):
        if avro_type.get("logicalType") in _DATE_TYPES:
            return LeafKind.DATE
        if avro_type.get("type") == "enum":
            return LeafKind.ENUM
        if avro_type.get("type") == "array":
            return LeafKind.LIST
        if "logicalType" not in avro_type:
            return _kind(avro_type.get("type"))
    return LeafKind.OTHER


def _non_null(avro_type: Any) -> Any:
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        if len(branches) == 1:
            return branches[0]
    return avro_type


def _resolve(avro_type: Any, named: dict[str, Any]) -> Any:
    return named.get(avro_type, avro_type) if isinstance(avro_type, str) else avro_type
