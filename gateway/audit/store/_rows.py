"""Decisions as table rows and back: the column order, JSON lists, epoch milliseconds."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from gateway.audit.store.base import AuditCoordinates, DecodedRecord, IndexedRecord
from gateway.envelope.models import AuditRecord
from gateway.errors import AuditStoreError

__all__ = ["COLUMNS", "JSON_COLUMNS", "from_millis", "millis", "record_of", "row_of"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

COLUMNS = (
    "decision_id", "request_id", "stage", "at_ms", "requester", "provider", "agreement_id",
    "purpose", "outcome", "subject_key", "reasons", "fields_requested", "fields_released",
    "fields_transformed", "fields_withheld", "policy_version", "input_topic", "input_partition",
    "input_offset", "gateway_instance", "chain_sequence", "prev_hash", "audit_topic",
    "audit_partition", "audit_offset", "message_hash",
)  # fmt: skip
JSON_COLUMNS = frozenset(
    {"reasons", "fields_requested", "fields_released", "fields_transformed", "fields_withheld"}
)
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')


def millis(at: datetime) -> int:
    """Epoch milliseconds, truncated as Avro ``timestamp-millis`` keeps them (``at`` is aware)."""
    return int(at.timestamp()) * 1000 + at.microsecond // 1000


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
    )  # fmt: skip


def _reasons(reasons: Sequence[Mapping[str, str]]) -> str:
    """Reasons as a JSON array of ``{"code", "message"}`` objects (json.dumps of a whole list
    costs three times as much)."""
    return (
        "["
        + ",".join(
            f'{{"code":{json.dumps(r["code"])},"message":{json.dumps(r["message"])}}}'
            for r in reasons
        )
        + "]"
    )


def _names(names: Sequence[str]) -> str:
    """Field names as a JSON array: built directly when no name needs escaping (the rule)."""
    if not names:
        return "[]"
    if _NEEDS_ESCAPE.search("".join(names)):
        return json.dumps(names, ensure_ascii=False)
    return '["' + '","'.join(names) + '"]'


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
