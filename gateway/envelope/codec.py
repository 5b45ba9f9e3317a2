"""Avro single-object encoding of envelope models and dataset records.

A message is the marker ``C3 01``, the writer schema's 8-byte CRC-64-AVRO fingerprint
(little-endian), then the Avro binary body. Envelope models use the schema named
``dx.gateway.<ClassName>``; dataset records name their schema explicitly. Bodies are written
and read by encoders compiled from each schema (:mod:`gateway.envelope.binary`, byte-for-byte
the same as fastavro's); dataset records a provider encodes are first checked by fastavro. A
message written with an earlier version of a schema (``schemas/previous/``) decodes into the
current version.

Avro ``timestamp-millis`` keeps milliseconds: sub-millisecond digits of a datetime are dropped on
encode, and naive datetimes are refused rather than guessed at. Error messages name schemas,
fields and byte counts, never the values of a message.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import Any, TypeVar, cast

from fastavro import schemaless_writer
from fastavro.validation import ValidationError as AvroValidationError
from fastavro.validation import validate as avro_validate
from pydantic import BaseModel, ValidationError

from gateway.envelope.binary import TemplateBinder, Writer, compile_template
from gateway.envelope.binary.native import NativeTemplate, TemplateWriters
from gateway.envelope.schemas import MARKER, RegisteredSchema, SchemaRegistry, default_schemas_dir
from gateway.errors import DecodeError, EnvelopeError, SchemaError, UnknownSchemaError

__all__ = ["ENVELOPE_NAMESPACE", "Codec", "MessageTemplate"]

ENVELOPE_NAMESPACE = "dx.gateway"
M = TypeVar("M", bound=BaseModel)

_HEADER_LEN = len(MARKER) + 8


@dataclass(frozen=True, slots=True)
class _ModelState:
    """What encoding and decoding one model class needs, worked out once."""

    model_type: type[BaseModel]
    schema: RegisteredSchema
    timestamp_fields: tuple[str, ...]
    defaults: dict[str, Any]
    """Model defaults, for :meth:`Codec.encode_fields` (lists are copied per use)."""


class MessageTemplate:
    """The single-object bytes of one kind of message with holes: fields that vary from one
    message to the next; every other field was encoded once, when the template was made."""

    __slots__ = ("_header", "_name", "_native", "_write")

    def __init__(
        self, schema: RegisteredSchema, write: Writer, native: NativeTemplate | None = None
    ) -> None:
        """``write`` is the generated Python template; ``native``, if any, its C writer."""
        self._header = schema.header
        self._name = schema.name
        self._write = write
        self._native = native

    def fill(self, holes: Mapping[str, Any]) -> bytes:
        """The message with ``holes`` (a value for every hole) filled in: byte for byte what
        :meth:`Codec.encode_fields` gives for the same field values. Written in C where it can
        be (:mod:`gateway.envelope.binary.native`), else by the generated Python template."""
        if self._native is not None and (message := self._native(holes)) is not None:
            return message
        out = [self._header]
        try:
            self._write(out, holes)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise EnvelopeError(f"cannot encode {self._name}: {type(exc).__name__} {exc}") from None
        return b"".join(out)


class Codec:
    """Encodes and decodes messages against the schemas of one :class:`SchemaRegistry`."""

    __slots__ = ("_binders", "_models", "_registry")

    def __init__(self, registry: SchemaRegistry) -> None:
        self._registry = registry
        self._models: dict[type[BaseModel], _ModelState] = {}
        self._binders: dict[
            tuple[type[BaseModel], frozenset[str]], tuple[TemplateBinder, TemplateWriters]
        ] = {}

    @classmethod
    def default(cls) -> Codec:
        """A shared codec over the repository's ``schemas/`` directory."""
        return _default_codec()

    @property
    def registry(self) -> SchemaRegistry:
        return self._registry

    # --- envelope models --------------------------------------------------------------------

    def encode(self, model: BaseModel) -> bytes:
        """Single-object encode ``model`` with the schema named after its class."""
        state = self._models.get(type(model)) or self._model_state(type(model))
        record = model.__dict__
        for name in state.timestamp_fields:
            if (stamp := record[name]) is not None and stamp.tzinfo is None:
                raise EnvelopeError(
                    f"{state.schema.name}.{name} is a naive datetime; timestamps must be "
                    "timezone-aware"
                )
        return _write(state.schema, record)

    def encode_fields(self, model_type: type[BaseModel], fields: Mapping[str, Any]) -> bytes:
        """Encode a message of ``model_type`` straight from its field values, skipping model
        construction: for messages the gateway builds itself on its hot path. Fields left out
        take the model's defaults; missing required fields and wrong types are errors."""
        state = self._models.get(model_type) or self._model_state(model_type)
        return _write(state.schema, {**state.defaults, **fields} if state.defaults else fields)

    def template(
        self, model_type: type[BaseModel], constants: Mapping[str, Any], holes: Collection[str]
    ) -> MessageTemplate:
        """A template of ``model_type`` messages whose fields are ``constants`` (or the model's
        defaults) except ``holes``, given per message to :meth:`MessageTemplate.fill`."""
        state = self._models.get(model_type) or self._model_state(model_type)
        key = (model_type, frozenset(holes))
        binders = self._binders.get(key)
        if binders is None:
            schema = state.schema
            binders = self._binders[key] = (
                compile_template(schema.parsed, key[1]),
                TemplateWriters(schema.parsed, schema.header),
            )
        binder, native = binders
        try:
            write = binder({**state.defaults, **constants})
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise EnvelopeError(
                f"cannot encode {state.schema.name}: {type(exc).__name__} {exc}"
            ) from None
        return MessageTemplate(state.schema, write, native.writer(write.segments))  # type: ignore[attr-defined]

    def decode(self, data: bytes, model_type: type[M]) -> M:
        """Decode ``data`` as a ``model_type`` message (written with its schema or an earlier
        version of it), validated by the model."""
        state = self._models.get(model_type) or self._model_state(model_type)
        schema = state.schema
        if not data.startswith(schema.header):
            schema = self._earlier_version(data, schema.name)
        return self.validate(_read_body(data, schema), model_type)

    def validate(self, record: Mapping[str, Any], model_type: type[M]) -> M:
        """A record read with ``model_type``'s schema (:meth:`decode_record_as`) as the model,
        validated and refused as :meth:`decode` does."""
        try:
            return model_type.model_validate(record)
        except ValidationError as exc:
            name = f"{ENVELOPE_NAMESPACE}.{model_type.__name__}"
            raise DecodeError(
                f"{name} message is not a valid {model_type.__name__}: {_summary(exc)}"
            ) from None

    # --- dataset records --------------------------------------------------------------------

    def encode_record(self, schema_name: str, record: Mapping[str, Any]) -> bytes:
        """Single-object encode a plain record, checked against the named schema."""
        schema = self._registry.get(schema_name)
        try:
            avro_validate(record, schema.parsed, raise_errors=True)
        except AvroValidationError as exc:
            fields = ", ".join(sorted({e.field or schema_name for e in exc.errors}))
            raise EnvelopeError(
                f"record does not fit {schema_name}: bad value for {fields}"
            ) from None
        except (ValueError, TypeError, OverflowError) as exc:
            raise EnvelopeError(
                f"record does not fit {schema_name}: a value cannot be converted "
                f"({type(exc).__name__})"
            ) from None
        return _write_strict(schema, record)

    def decode_record(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """Decode a message of any known schema; return the schema's full name and the record."""
        schema = self._registry.by_fingerprint(_fingerprint(data))
        return schema.name, _read_body(data, schema)

    def decode_record_as(self, data: bytes, schema_name: str) -> dict[str, Any]:
        """Decode ``data``, insisting that it was written with the named schema (or an earlier
        version of it, read into the current one)."""
        schema = self._registry.get(schema_name)
        if not data.startswith(schema.header):
            schema = self._earlier_version(data, schema_name)
        return _read_body(data, schema)

    # --- internals --------------------------------------------------------------------------

    def _model_state(self, model_type: type[BaseModel]) -> _ModelState:
        schema = self._registry.get(f"{ENVELOPE_NAMESPACE}.{model_type.__name__}")
        fields = schema.parsed["fields"]
        avro_names = [f["name"] for f in fields]
        model_names = list(model_type.model_fields)
        if avro_names != model_names:
            raise SchemaError(
                f"{schema.path} does not match {model_type.__name__}: schema fields "
                f"{avro_names}, model fields {model_names}"
            )
        state = _ModelState(
            model_type=model_type,
            schema=schema,
            timestamp_fields=tuple(
                f["name"] for f in fields if _logical_type(f["type"]) == "timestamp-millis"
            ),
            defaults={
                name: info.get_default(call_default_factory=True)
                for name, info in model_type.model_fields.items()
                if not info.is_required()
            },
        )
        self._models[model_type] = state
        return state

    def _earlier_version(self, data: bytes, expected: str) -> RegisteredSchema:
        """The earlier version of schema ``expected`` that ``data`` was written with (its
        reader gives records of the current version); an error if it is another schema's."""
        fingerprint = _fingerprint(data)
        try:
            found = self._registry.by_fingerprint(fingerprint)
        except UnknownSchemaError:
            raise UnknownSchemaError(
                f"unknown schema fingerprint {fingerprint.hex()}; expected a {expected} message "
                f"(fingerprint {self._registry.get(expected).fingerprint.hex()})"
            ) from None
        if found.name != expected:
            raise DecodeError(f"expected a {expected} message, got a {found.name} message")
        return found


@functools.cache
def _default_codec() -> Codec:
    return Codec(SchemaRegistry.from_dir(default_schemas_dir()))


def _fingerprint(data: bytes) -> bytes:
    """The fingerprint of a single-object message; :class:`DecodeError` if there is none."""
    if len(data) < _HEADER_LEN:
        raise DecodeError(
            f"message is {len(data)} bytes; single-object encoding needs at least {_HEADER_LEN}"
        )
    if not data.startswith(MARKER):
        raise DecodeError(
            f"message starts with {data[:2].hex(' ')}, not the single-object marker c3 01"
        )
    return bytes(data[len(MARKER) : _HEADER_LEN])


def _write(schema: RegisteredSchema, record: Mapping[str, Any]) -> bytes:
    out = [schema.header]
    try:
        schema.write(out, record)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise EnvelopeError(f"cannot encode {schema.name}: {type(exc).__name__} {exc}") from None
    return b"".join(out)


def _write_strict(schema: RegisteredSchema, record: Mapping[str, Any]) -> bytes:
    """fastavro's strict writer: refuses unknown fields and fills in defaults (datasets)."""
    out = BytesIO()
    out.write(schema.header)
    try:
        schemaless_writer(out, schema.parsed, record, strict_allow_default=True)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise EnvelopeError(f"cannot encode {schema.name}: {exc}") from None
    return out.getvalue()


def _read_body(data: bytes, schema: RegisteredSchema) -> dict[str, Any]:
    """The Avro body after the header, which must use up every remaining byte."""
    try:
        record, end = schema.read(data, _HEADER_LEN)
    except IndexError:
        raise DecodeError(f"{schema.name} body is truncated") from None
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise DecodeError(f"{schema.name} body is not valid Avro ({type(exc).__name__})") from None
    if end > len(data):
        raise DecodeError(f"{schema.name} body is truncated")
    if (extra := len(data) - end) > 0:
        raise DecodeError(f"{extra} trailing byte(s) after the {schema.name} body")
    return cast(dict[str, Any], record)


def _summary(exc: ValidationError) -> str:
    """Where and why pydantic refused, without the offending values (nor map keys, which are
    input too: a key that is not name-shaped shows as ``<key>``)."""
    return "; ".join(
        f"{'.'.join(map(_place, err['loc'])) or '<root>'}: {err['msg']}"
        for err in exc.errors(include_url=False, include_input=False)
    )


_NAME = re.compile(r"\[key\]|[a-z][a-z0-9_]{0,63}")


def _place(part: str | int) -> str:
    return str(part) if isinstance(part, int) or _NAME.fullmatch(part) else "<key>"


def _logical_type(avro_type: Any) -> str | None:
    for branch in avro_type if isinstance(avro_type, list) else [avro_type]:
        if isinstance(branch, dict) and "logicalType" in branch:
            return str(branch["logicalType"])
    return None
