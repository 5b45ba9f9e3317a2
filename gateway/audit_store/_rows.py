"""Decisions as table rows and back: the column order, JSON lists, epoch milliseconds.

The indexer reads records straight into the same rows: :mod:`gateway.audit_store._row_reader`
compiles its reader from the columns named here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

from pydantic import ValidationError

from gateway.audit_store.base import AuditCoordinates, DecodedRecord, IndexedRecord
from gateway.envelope.models import AuditRecord
from gateway.errors import AuditStoreError

__all__ = [
    "COLUMNS",
    "FIELD_OF_COLUMN",
    "JSON_COLUMNS",
    "SOURCE_COLUMNS",
    "from_millis",
    "millis",
    "record_of",
    "row_of",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

COLUMNS = (
    "decision_id", "request_id", "stage", "at_ms", "requester", "provider", "agreement_id",
    "purpose", "outcome", "subject_key", "reasons", "fields_requested", "fields_released",
    "fields_transformed", "fields_withheld", "policy_version", "input_topic", "input_partition",
    "input_offset", "gateway_instance", "chain_sequence", "prev_hash", "audit_topic",
    "audit_partition", "audit_offset", "message_hash", "sent_at_ms",
)  # fmt: skip
JSON_COLUMNS = frozenset(
    {"reasons", "fields_requested", "fields_released", "fields_transformed", "fields_withheld"}
)
SOURCE_COLUMNS = ("audit_topic", "audit_partition", "audit_offset", "message_hash")
"""The columns of :class:`AuditCoordinates`, in its order; the others hold record fields."""
FIELD_OF_COLUMN = {"at_ms": "at", "chain_sequence": "sequence", "sent_at_ms": "sent_at"}
"""The record field of each column not named like its field."""


def millis(at: datetime) -> int:
    """Epoch milliseconds, as Avro ``timestamp-millis`` keeps them (``at`` is aware): whole ones
    counted from the epoch, so times before 1970 round down too."""
    return (at - _EPOCH) // _MS


def from_millis(value: int) -> datetime:
    return _EPOCH + value * _MS


def _json_list(value: Any) -> list[Any]:
    """A JSON column as read back: text from SQLite, already parsed from PostgreSQL."""
    return value if isinstance(value, list) else list(json.loads(value))


def row_of(item: DecodedRecord) -> tuple[Any, ...]:
    """The values of :data:`COLUMNS` for one decision."""
    r, source = item.fields, item.source
    return (
        r["decision_id"], r["request_id"], str(r["stage"]), millis(r["at"]), r["requester"],
        r["provider"], r["agreement_id"], r["purpose"], str(r["outcome"]), r["subject_key"],
        _reasons(r["reasons"]), _names(r["fields_requested"]),
        _names(r["fields_released"]), _names(r["fields_transformed"]),
        _names(r["fields_withheld"]), r["policy_version"], r["input_topic"],
        r["input_partition"], r["input_offset"], r["gateway_instance"], r["sequence"],
        r["prev_hash"], source.topic, source.partition, source.offset, source.message_hash,
        None if r.get("sent_at") is None else millis(r["sent_at"]),
    )  # fmt: skip


def _reasons(reasons: Sequence[Mapping[str, str]]) -> str:
    """Reasons as a compact JSON array of ``{"code", "message"}`` objects, non-ASCII characters
    escaped as json.dumps escapes them (which costs three times as much for the whole list)."""
    q = encode_basestring_ascii
    return (
        "["
        + ",".join(f'{{"code":{q(r["code"])},"message":{q(r["message"])}}}' for r in reasons)
        + "]"
    )


def _names(names: Sequence[str]) -> str:
    """Field names as a compact JSON array of strings."""
    return "[" + ",".join(map(encode_basestring, names)) + "]"


def record_of(row: Sequence[Any]) -> IndexedRecord:
    """The decision a row of :data:`COLUMNS` holds, validated as an :class:`AuditRecord`."""
    values = dict(zip(COLUMNS, row, strict=True))
    source = AuditCoordinates(
        values.pop("audit_topic"),
        values.pop("audit_partition"),
        values.pop("audit_offset"),
        values.pop("message_hash"),
    )
    values["at"] = from_millis(values.pop("at_ms"))
    sent_at = values.pop("sent_at_ms")
    values["sent_at"] = None if sent_at is None else from_millis(sent_at)
    values["sequence"] = values.pop("chain_sequence")
    for column in JSON_COLUMNS:
        values[column] = _json_list(values[column])
    try:
        return IndexedRecord(AuditRecord.model_validate(values), source)
    except ValidationError as exc:
        raise AuditStoreError(
            f"stored decision {values['decision_id']} is not a valid audit record "
            f"({exc.error_count()} problem(s)); was it written by another version?"
        ) from None
