"""Avro schemas on disk, parsed once and looked up by full name or by fingerprint.

Every ``*.avsc`` file under a directory holds one self-contained record schema. Each schema is
parsed with fastavro and identified by the CRC-64-AVRO fingerprint of its parsing canonical form,
as 8 bytes in the order single-object encoding puts them on the wire (little-endian).

Files under a ``previous/`` folder hold earlier versions of a schema: messages written with one
are still known by their fingerprint, and are read into the current version of the same name
(Avro schema resolution: fields added since take their defaults, fields removed are skipped).
An earlier version that the current one cannot read is a :class:`SchemaError` when loading.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from fastavro.schema import (
    SchemaParseException,
    fingerprint,
    parse_schema,
    to_parsing_canonical_form,
)

from gateway.envelope.binary import Reader, Writer, compile_reader, compile_writer
from gateway.errors import SchemaError, UnknownSchemaError

__all__ = ["MARKER", "RegisteredSchema", "SchemaRegistry", "default_schemas_dir"]

MARKER = b"\xc3\x01"
"""The two bytes that open every single-object-encoded Avro message."""
_PREVIOUS = "previous"
"""The folder of earlier schema versions, anywhere under the schema directory."""


def default_schemas_dir() -> Path:
    """The repository's ``schemas/`` directory, found relative to this package."""
    return Path(__file__).resolve().parents[2] / "schemas"


@dataclass(frozen=True, slots=True, eq=False)
class RegisteredSchema:
    """One parsed record schema and the identity it carries on the wire."""

    name: str
    """Full name, e.g. ``dx.gateway.ExchangeRequest``."""
    path: Path
    parsed: dict[str, Any]
    """The schema as fastavro parsed it; pass it straight to fastavro readers and writers."""
    canonical_form: str
    fingerprint: bytes
    """CRC-64-AVRO of the canonical form, 8 bytes, little-endian."""
    header: bytes = field(init=False)
    """The 10 bytes that precede every message body written with this schema."""
    current: RegisteredSchema | None = field(default=None, repr=False, compare=False)
    """For an earlier version of a schema, the current one; None for a current schema."""
    write: Writer = field(init=False, repr=False, compare=False)
    """The compiled Avro binary writer (:mod:`gateway.envelope.binary`)."""
    read: Reader = field(init=False, repr=False, compare=False)
    """The compiled reader of bodies written with this schema; an earlier version's gives
    records of the current version."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "header", MARKER + self.fingerprint)
        object.__setattr__(self, "write", compile_writer(self.parsed))
        if self.current is None:
            read = compile_reader(self.parsed)
        else:
            try:
                read = compile_reader(self.current.parsed, writer=self.parsed)
            except SchemaError as exc:
                raise SchemaError(
                    f"{self.path} cannot be read as the current {self.name} "
                    f"({self.current.path}): {exc}"
                ) from None
        object.__setattr__(self, "read", read)

    def as_previous_of(self, current: RegisteredSchema) -> RegisteredSchema:
        """This schema as an earlier version of ``current`` (same name), read into it."""
        return RegisteredSchema(
            self.name, self.path, self.parsed, self.canonical_form, self.fingerprint, current
        )


def _load_schema_file(path: Path) -> RegisteredSchema:
    """Parse one ``.avsc`` file; raise :class:`SchemaError` naming the file if it is unusable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"cannot read schema file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise SchemaError(f"schema file {path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("type") != "record":
        raise SchemaError(f"schema file {path} must hold one Avro record schema")
    try:
        parsed = cast(dict[str, Any], parse_schema(raw))
        canonical = to_parsing_canonical_form(raw)
    except (SchemaParseException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SchemaError(f"schema file {path} is not a valid Avro schema: {exc}") from exc
    return RegisteredSchema(
        name=parsed["name"],
        path=path,
        parsed=parsed,
        canonical_form=canonical,
        fingerprint=bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")),
    )


class SchemaRegistry:
    """Record schemas by full name and by fingerprint; immutable once built.

    ``previous`` are earlier versions of the schemas: found by fingerprint (their messages read
    into the current version), never by name."""

    __slots__ = ("_by_fingerprint", "_by_name")

    def __init__(
        self, schemas: Iterable[RegisteredSchema], previous: Iterable[RegisteredSchema] = ()
    ) -> None:
        self._by_name: dict[str, RegisteredSchema] = {}
        self._by_fingerprint: dict[bytes, RegisteredSchema] = {}
        for schema in schemas:
            if (seen := self._by_name.get(schema.name)) is not None:
                raise SchemaError(f"{schema.name} is defined twice: {seen.path} and {schema.path}")
            self._by_name[schema.name] = schema
            self._add_fingerprint(schema)
        for older in previous:
            if older.name not in self._by_name:
                raise SchemaError(f"{older.path} is an earlier {older.name}, which has no schema")
            self._add_fingerprint(older.as_previous_of(self._by_name[older.name]))

    def _add_fingerprint(self, schema: RegisteredSchema) -> None:
        if (same := self._by_fingerprint.get(schema.fingerprint)) is not None:
            raise SchemaError(
                f"{schema.path} and {same.path} have the same fingerprint "
                f"{schema.fingerprint.hex()}"
            )
        self._by_fingerprint[schema.fingerprint] = schema

    @classmethod
    def from_dir(cls, path: Path | str) -> SchemaRegistry:
        """Load every ``*.avsc`` under ``path``, recursively; those under a ``previous/``
        folder are earlier versions."""
        root = Path(path)
        if not root.is_dir():
            raise SchemaError(f"schema directory {root} does not exist")
        files = sorted(root.rglob("*.avsc"))
        if not files:
            raise SchemaError(f"no *.avsc files under {root}")
        earlier = [p for p in files if _PREVIOUS in p.relative_to(root).parts[:-1]]
        return cls(
            (_load_schema_file(p) for p in files if p not in earlier),
            (_load_schema_file(p) for p in earlier),
        )

    def get(self, name: str) -> RegisteredSchema:
        """The schema with this full name; :class:`SchemaError` if there is none."""
        try:
            return self._by_name[name]
        except KeyError:
            raise SchemaError(f"no schema named {name}") from None

    def by_fingerprint(self, fp: bytes) -> RegisteredSchema:
        """The schema with this 8-byte fingerprint, current or earlier;
        :class:`UnknownSchemaError` if unknown."""
        try:
            return self._by_fingerprint[fp]
        except KeyError:
            raise UnknownSchemaError(f"unknown schema fingerprint {fp.hex()}") from None

    @property
    def names(self) -> list[str]:
        """Full names of every schema, sorted."""
        return sorted(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[RegisteredSchema]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)
