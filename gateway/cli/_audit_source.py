"""Where ``gateway policy simulate`` and ``gateway register`` read audit records from.

Either a file (an audit export, or plain JSON audit records) or the audit topic itself, read
from the beginning to its end when reading starts
(:func:`gateway.transport.audit_log.read_audit_log`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from gateway.envelope.models import AuditRecord
from gateway.errors import ConfigError
from gateway.policy.tools import AuditFile, decode_audit_messages
from gateway.settings import GatewaySettings
from gateway.transport.audit_log import read_audit_log
from gateway.transport.topics import TopicNames

__all__ = ["AuditSource", "open_audit_source", "tracked"]

PROGRESS_FROM = 5000
"""Sources with at least this many messages get a progress bar."""


@dataclass(frozen=True, slots=True)
class AuditSource:
    """Audit records to read once, and how many messages there are (for progress)."""

    name: str
    records: Iterator[AuditRecord]
    messages: int


@contextmanager
def open_audit_source(
    path: Path | None, bootstrap: str | None, prefix: str | None
) -> Iterator[AuditSource]:
    """An audit file when ``path`` is given, else the audit topic on ``bootstrap`` (``prefix``
    unset: the configured one)."""
    if (path is None) == (bootstrap is None):
        raise ConfigError("give --audit-file FILE or --bootstrap HOST:PORT, not both or neither")
    if path is not None:
        audit = AuditFile(path)
        yield AuditSource(str(path), iter(audit), audit.messages)
        return
    assert bootstrap is not None
    topic = TopicNames(prefix or GatewaySettings().topic_prefix).audit
    _, messages = asyncio.run(read_audit_log(bootstrap, topic))
    values = (message.value for message in messages)
    records = decode_audit_messages(values, where=f"{topic} message")
    yield AuditSource(f"{topic} on {bootstrap}", records, len(messages))


def tracked(source: AuditSource, label: str) -> Iterator[AuditRecord]:
    """``source``'s records, with a progress bar on stderr for long reads at a terminal."""
    console = Console(stderr=True)
    if source.messages < PROGRESS_FROM or not console.is_terminal:
        yield from source.records
        return
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(label, total=source.messages)
        for record in source.records:
            yield record
            progress.advance(task)
