"""Generated Python source: written line by line, compiled under a name tracebacks show.

The Avro codec (:mod:`gateway.envelope.binary`) and compiled redaction
(:mod:`gateway.redaction.compiled`) write their code with :class:`Source`. Each compiled module
is registered with :mod:`linecache` under a filename such as ``<avro reader
dx.gateway.AuditRecord>``, so a traceback through generated code shows the line that failed and
:func:`inspect.getsource` shows the function.
"""

from __future__ import annotations

import builtins
import keyword
import linecache
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Source", "build", "identifier"]

_FIXED = frozenset(
    {"data", "pos", "end", "size", "index", "branch", "number", "out", "append", "record"}
    | {"encoded", "moment", "last", "constants", "exc", "_"}
)
"""Locals the generated code uses for scratch values: a field never gets one of these names."""


def identifier(name: str) -> str:
    """A Python identifier for an Avro full name (``dx.gateway.Reason``: ``dx_gateway_Reason``)."""
    return name.replace(".", "_")


class Source:
    """Python source being written: statements at the current indentation, and locals named
    after what they hold (a field's value by the field's name), never two alike in one scope."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._lines: list[str] = []
        self._depth = 0
        self._taken = set(_FIXED) | set(reserved) | set(keyword.kwlist) | set(dir(builtins))

    def line(self, statement: str) -> None:
        self._lines.append("    " * self._depth + statement)

    def blank(self) -> None:
        self._lines.append("")

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """Statements written inside the ``with`` go in the block ``header`` opens."""
        self.line(header)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    @contextmanager
    def scope(self) -> Iterator[None]:
        """Locals named inside the ``with`` may be named again after it."""
        taken = set(self._taken)
        try:
            yield
        finally:
            self._taken = taken

    def local(self, hint: str) -> str:
        """A name for a new local: ``hint`` itself if free, else ``hint_2``, ``hint_3``..."""
        name, n = hint, 1
        while name in self._taken:
            n += 1
            name = f"{hint}_{n}"
        self._taken.add(name)
        return name

    @property
    def text(self) -> str:
        return "\n".join(self._lines) + "\n"


def build(source: Source, label: str, entry: str, env: dict[str, Any]) -> Any:
    """Compile ``source`` (a module defining ``entry``) against ``env``, as the file
    ``<{label}>``; return ``entry``. A second module of the same label with other source
    (another schema of the same name, another set of holes) is ``<{label} (2)>``."""
    text = source.text
    filename, serial = f"<{label}>", 1
    while (cached := linecache.getlines(filename)) and "".join(cached) != text:
        serial += 1
        filename = f"<{label} ({serial})>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    namespace = dict(env)
    exec(compile(text, filename, "exec"), namespace)
    return namespace[entry]
