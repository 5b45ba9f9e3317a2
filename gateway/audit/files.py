"""Audit export files and saved-checkpoint files: exact message bytes, as JSON.

Export (JSON lines): a header line, then one line per message in partition and offset order::

    {"format":"dx-audit-export/1","topic":"dx.audit","partitions":4,"exported_at":"..."}
    {"partition":0,"offset":0,"value":"<base64 of the exact message bytes>"}

Saved checkpoints (one JSON document): the latest signed checkpoint of each partition, in the
same ``partition``/``offset``/``value`` form, so a later verification can tell whether the log
was truncated or rewritten since.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from gateway.errors import AuditExportError

__all__ = [
    "EXPORT_FORMAT",
    "ExportHeader",
    "ExportWriter",
    "ExportedMessage",
    "read_checkpoints",
    "read_export",
    "read_export_rows",
    "write_checkpoints",
    "write_export",
]

EXPORT_FORMAT = "dx-audit-export/1"
CHECKPOINTS_FORMAT = "dx-audit-checkpoints/1"
Row = tuple[int, int, bytes]
"""``(partition, offset, value)``: an exported message without the object around it."""


@dataclass(frozen=True, slots=True)
class ExportedMessage:
    """One message of the audit topic: where it was and its exact bytes."""

    partition: int
    offset: int
    value: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "offset": self.offset,
            "value": base64.b64encode(self.value).decode("ascii"),
        }


@dataclass(frozen=True, slots=True)
class ExportHeader:
    topic: str
    partitions: int
    exported_at: str


class ExportWriter:
    """Writes an export file message by message: ``with ExportWriter(...) as out: out.write(m)``."""

    def __init__(self, path: Path | str, topic: str, partitions: int) -> None:
        self._path = Path(path)
        self._header = {
            "format": EXPORT_FORMAT,
            "topic": topic,
            "partitions": partitions,
            "exported_at": datetime.now(UTC).isoformat(),
        }
        self._out: TextIO | None = None
        self.count = 0

    def __enter__(self) -> ExportWriter:
        self._out = self._path.open("w", encoding="ascii", newline="\n")
        self._out.write(json.dumps(self._header, separators=(",", ":")) + "\n")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def write(self, message: ExportedMessage) -> None:
        if self._out is None:
            raise AuditExportError(f"{self._path} is not open for writing")
        self._out.write(json.dumps(message.to_json(), separators=(",", ":")) + "\n")
        self.count += 1


def write_export(
    path: Path | str, topic: str, partitions: int, messages: Iterable[ExportedMessage]
) -> int:
    """Write an export file; returns the number of messages written."""
    with ExportWriter(path, topic, partitions) as out:
        for message in messages:
            out.write(message)
    return out.count


def read_export(path: Path | str) -> tuple[ExportHeader, Iterator[ExportedMessage]]:
    """The header of an export file and an iterator over its messages, in file order."""
    header, rows = read_export_rows(path)
    return header, (ExportedMessage(p, o, v) for p, o, v in rows)


def read_export_rows(path: Path | str) -> tuple[ExportHeader, Iterator[Row]]:
    """Like :func:`read_export`, as plain tuples: the fast path for verification."""
    source = Path(path)
    try:
        handle = source.open("rb")
    except OSError as exc:
        raise AuditExportError(f"cannot read {source}: {exc.strerror}") from None
    first = handle.readline()
    try:
        raw = json.loads(first)
        if raw.get("format") != EXPORT_FORMAT:
            raise ValueError(f"format {raw.get('format')!r}")
        header = ExportHeader(str(raw["topic"]), int(raw["partitions"]), str(raw["exported_at"]))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        handle.close()
        raise AuditExportError(f"{source} is not a {EXPORT_FORMAT} file ({exc})") from None
    return header, _rows(handle, source)


def _rows(handle: Any, source: Path) -> Iterator[Row]:
    a2b = binascii.a2b_base64
    with handle:
        for number, line in enumerate(handle, start=2):
            # The layout write_export produces, taken apart without a JSON parser (a third of
            # the cost); anything else goes through json.loads.
            parts = line.split(b'"', 8)
            if (
                len(parts) == 9
                and parts[1] == b"partition"
                and parts[3] == b"offset"
                and parts[5] == b"value"
                and parts[8].rstrip() == b"}"
            ):
                try:
                    yield int(parts[2][1:-1]), int(parts[4][1:-1]), a2b(parts[7], strict_mode=True)
                    continue
                except (ValueError, binascii.Error):
                    pass
            if line.strip():
                yield _parse(line, f"{source} line {number}")


def _parse(line: bytes | dict[str, Any], where: str) -> Row:
    try:
        raw = json.loads(line) if not isinstance(line, dict) else line
        return (
            int(raw["partition"]),
            int(raw["offset"]),
            base64.b64decode(raw["value"], validate=True),
        )
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise AuditExportError(f"{where} is not an exported message ({exc})") from None


def write_checkpoints(path: Path | str, topic: str, checkpoints: Iterable[ExportedMessage]) -> int:
    """Save checkpoint messages for a later verification; returns how many were saved."""
    saved = [c.to_json() for c in sorted(checkpoints, key=lambda c: c.partition)]
    document = {
        "format": CHECKPOINTS_FORMAT,
        "topic": topic,
        "saved_at": datetime.now(UTC).isoformat(),
        "checkpoints": saved,
    }
    Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="ascii")
    return len(saved)


def read_checkpoints(path: Path | str) -> dict[int, ExportedMessage]:
    """Saved checkpoints by partition."""
    source = Path(path)
    try:
        document = json.loads(source.read_bytes())
    except OSError as exc:
        raise AuditExportError(f"cannot read {source}: {exc.strerror}") from None
    except ValueError as exc:
        raise AuditExportError(f"{source} is not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != CHECKPOINTS_FORMAT:
        raise AuditExportError(f"{source} is not a {CHECKPOINTS_FORMAT} file")
    rows = [_parse(c, f"{source} checkpoint") for c in document.get("checkpoints", [])]
    return {p: ExportedMessage(p, o, v) for p, o, v in rows}
