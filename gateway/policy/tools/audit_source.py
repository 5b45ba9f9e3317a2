"""Audit records from a file: an audit export, or plain JSON audit records (one per line).

An export (``gateway audit export``) holds the exact Avro single-object bytes of every message
on the audit topic; messages that are not audit records (such as signed checkpoints) are
skipped. A plain file holds one JSON object per line: an audit record's fields, or
``{"value": "<base64 bytes>"}`` (``value_b64`` is read too).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.audit.files import EXPORT_FORMAT, read_export
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditRecord
from gateway.errors import AuditExportError, DecodeError

__all__ = ["AuditFile", "decode_audit_messages"]

_BYTES_KEYS = ("value", "value_b64")


def decode_audit_messages(
    values: Iterable[bytes], codec: Codec | None = None, *, where: str = "audit message"
) -> Iterator[AuditRecord]:
    """Decode single-object messages as audit records, skipping other known messages.

    Raises :class:`~gateway.errors.AuditExportError` for bytes of no known schema.
    """
    codec = codec or Codec.default()
    header = codec.registry.get("dx.gateway.AuditRecord").header
    for number, value in enumerate(values, start=1):
        if value.startswith(header):
            try:
                yield codec.decode(value, AuditRecord)
            except DecodeError as exc:
                raise AuditExportError(f"{where} {number}: {exc}") from None
        elif not _known_message(codec, value):
            raise AuditExportError(f"{where} {number}: not a message of any known schema")


class AuditFile:
    """An audit source on disk; iterate it for its audit records (it can be read again)."""

    def __init__(self, path: Path | str, codec: Codec | None = None) -> None:
        self.path = Path(path)
        self._codec = codec or Codec.default()
        try:
            with self.path.open("rb") as handle:
                first = handle.readline()
                self.messages = sum(1 for line in handle if line.strip()) + bool(first.strip())
        except OSError as exc:
            raise AuditExportError(f"cannot read {self.path}: {exc.strerror}") from None
        self.is_export = _is_export_header(first)
        if self.is_export:
            self.messages -= 1
        """How many messages (or records) the file holds, for progress reports."""

    def __iter__(self) -> Iterator[AuditRecord]:
        if self.is_export:
            _, messages = read_export(self.path)
            values = (message.value for message in messages)
            yield from decode_audit_messages(values, self._codec, where=f"{self.path} message")
            return
        yield from self._plain()

    def _plain(self) -> Iterator[AuditRecord]:
        with self.path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{self.path} line {number}"
                try:
                    item = json.loads(line)
                except ValueError as exc:
                    raise AuditExportError(f"{where} is not JSON ({exc})") from None
                if not isinstance(item, dict):
                    raise AuditExportError(f"{where} is not a JSON object")
                yield from self._item(item, where)

    def _item(self, item: dict[str, Any], where: str) -> Iterator[AuditRecord]:
        encoded = next((item[k] for k in _BYTES_KEYS if isinstance(item.get(k), str)), None)
        if encoded is not None:
            try:
                value = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise AuditExportError(f"{where}: value is not base64 ({exc})") from None
            yield from decode_audit_messages([value], self._codec, where=where)
            return
        item.setdefault("prev_hash", "")
        item.setdefault("sequence", -1)
        try:
            yield AuditRecord.model_validate(item)
        except ValidationError as exc:
            fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
            raise AuditExportError(f"{where} is not an audit record (bad: {fields})") from None


def _is_export_header(line: bytes) -> bool:
    try:
        header = json.loads(line)
    except ValueError:
        return False
    return isinstance(header, dict) and header.get("format") == EXPORT_FORMAT


def _known_message(codec: Codec, value: bytes) -> bool:
    try:
        codec.registry.by_fingerprint(value[2:10])
    except DecodeError:
        return False
    return value[:2] == b"\xc3\x01"
