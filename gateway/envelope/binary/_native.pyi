"""Types of the C reader (``_native.pyx``)."""

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from gateway.errors import EnvelopeError

KINDS: dict[str, int]

class Refused(EnvelopeError): ...

class Node:
    def __init__(self, kind: str) -> None: ...
    def contain(self, item: Node) -> None: ...
    def set_fields(self, names: tuple[str, ...], fields: tuple[Any, ...]) -> None: ...

class NativeReader:
    def __init__(
        self,
        root: Node,
        fallback: Callable[[bytes, int], tuple[Any, int]],
        epoch: datetime,
        ms: timedelta,
        from_ordinal: Callable[[int], date],
    ) -> None: ...
    def __call__(self, data: bytes, pos: int) -> tuple[Any, int]: ...

class NativeTemplate:
    def __init__(self, segments: tuple[Any, ...]) -> None: ...
    def __call__(self, holes: Mapping[str, Any]) -> bytes | None: ...
