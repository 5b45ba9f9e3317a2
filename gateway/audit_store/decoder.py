"""Audit records read into store rows in a second process, while the indexer loads.

Reading records is most of the indexer's Python and SQLite's inserts most of the rest; each
takes one core. With a :class:`DecoderProcess` they overlap: the indexer sends a batch's records
over, follows the hash chain through the batch itself, then loads the rows as they come back,
a part at a time, in the batch's order. One decoder serves one indexer, one batch at a time;
whatever of a batch is not read (its load failed) is read and dropped before the next is sent.

The process is a fresh interpreter (not a fork of a threaded indexer, nor a re-import of its
main module) that talks over two pipes and ends when they close. What crosses them is plain
data (tuples of strings, numbers and bytes) in :mod:`marshal` form, which both ends, the same
interpreter, write and read faster than pickles.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from gateway.audit_store import DecisionRow, RecordSchema, compile_row_reader
from gateway.errors import AuditError, EnvelopeError

__all__ = ["DecoderProcess", "Record"]

Record = tuple[str, int, int, bytes]
"""An audit record message: topic, partition, offset and value."""

_PART = 250
"""Records per message back: few enough that loading starts soon after a batch is sent, enough
that messages cost little."""
_READY = b"ready"
_STOP = b""
_START = "from gateway.audit_store.decoder import _serve; _serve()"
_STOP_WAIT_S = 5.0


class _Schema(NamedTuple):
    """A record schema's parts: what the decoder process compiles its reader from."""

    name: str
    header: bytes
    parsed: Mapping[str, Any]


class DecoderProcess:
    """A second process that reads audit records into store rows (see the module docs)."""

    def __init__(self, schema: RecordSchema, *, part: int = _PART) -> None:
        theirs_in, ours_out = os.pipe()
        ours_in, theirs_out = os.pipe()
        self._out = Connection(ours_out, readable=False)
        self._in = Connection(ours_in, writable=False)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _START, str(theirs_in), str(theirs_out)],
                pass_fds=(theirs_in, theirs_out),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except BaseException:
            self._out.close()
            self._in.close()
            raise
        finally:
            os.close(theirs_in)
            os.close(theirs_out)
        self._unread = 0
        """Records of the batch sent whose results are not received yet."""
        try:
            self._out.send_bytes(
                marshal.dumps((schema.name, schema.header, dict(schema.parsed), part))
            )
            if self._receive() != _READY:
                raise AuditError("the audit decoder process did not start")
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        """The process's id."""
        return self._process.pid

    def send(self, records: list[Record]) -> None:
        """Start reading a batch's records (what is left of the batch before is dropped)."""
        self.drain()
        try:
            self._out.send_bytes(marshal.dumps(records))
        except OSError:
            raise self._stopped() from None
        self._unread = len(records)

    def results(self) -> Iterator[DecisionRow | str]:
        """For each record sent, in order and as they arrive: its row, or why it has none."""
        while self._unread:
            part: list[DecisionRow | str] = marshal.loads(self._receive())
            self._unread -= len(part)
            yield from part

    def drain(self) -> None:
        """Receive and drop whatever is left of the batch sent."""
        for _ in self.results():
            pass

    def close(self) -> None:
        """Stop the process: told to when it is idle (waiting a few seconds), else ended."""
        if self._process.poll() is None and not self._unread:
            try:
                self._out.send_bytes(_STOP)
                self._process.wait(_STOP_WAIT_S)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._out.close()
        self._in.close()

    def _receive(self) -> bytes:
        try:
            return self._in.recv_bytes()
        except (EOFError, OSError):
            raise self._stopped() from None

    def _stopped(self) -> AuditError:
        return AuditError(f"the audit decoder process stopped (exit code {self._process.poll()})")


def _serve() -> None:
    """The decoder process: batches in, rows out, until told to stop or the pipes close."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the indexer stops it
    ours_in, ours_out = (Connection(int(fd)) for fd in sys.argv[1:3])
    name, header, parsed, part = marshal.loads(ours_in.recv_bytes())
    read_row = compile_row_reader(_Schema(name, header, parsed))
    sha256 = hashlib.sha256  # the indexer hashes too, for the chain, but only after sending
    ours_out.send_bytes(_READY)
    while (batch := _next_batch(ours_in)) is not None:
        records: list[Record] = marshal.loads(batch)
        for start in range(0, len(records), part):
            out: list[DecisionRow | str] = []
            for topic, partition, offset, value in records[start : start + part]:
                try:
                    out.append(read_row(value, topic, partition, offset, sha256(value).hexdigest()))
                except EnvelopeError as exc:
                    out.append(str(exc))
            ours_out.send_bytes(marshal.dumps(out))


def _next_batch(conn: Connection) -> bytes | None:
    try:
        data = conn.recv_bytes()
    except (EOFError, OSError):
        return None
    return data if data != _STOP else None
