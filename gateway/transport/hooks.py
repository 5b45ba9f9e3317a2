"""Narrow hooks the runner calls as it works, for metrics; the default does nothing.

The runner says what it read, how long each stage took, what Kafka acknowledged, whether a
batch's outputs were delivered (so what the processor observed counts) and what it committed.
Hooks must be cheap (they run per batch, not per record) and must not raise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from aiokafka import TopicPartition

from gateway.exchange.messages import OutputMessage

__all__ = ["NO_HOOKS", "NoHooks", "RunnerHooks"]


class RunnerHooks(Protocol):
    def batch_read(self, batch: Mapping[TopicPartition, Sequence[Any]]) -> None:
        """A batch was fetched: records per input partition."""

    def timed(self, stage: str) -> AbstractContextManager[None]:
        """Times one stage of a batch: ``process``, ``audit_write``, ``produce``, ``commit``, or
        ``transaction`` (the last three as one Kafka transaction)."""

    def written(self, messages: Sequence[OutputMessage]) -> None:
        """Kafka acknowledged ``messages``."""

    def settled(self, delivered: bool) -> None:
        """The batch's outputs were all acknowledged (True), or it was given up (False) and
        will be read again."""

    def committed(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Input offsets were committed."""


class NoHooks:
    """Hooks that do nothing; subclass it to hook into some calls only."""

    _nothing = contextlib.nullcontext()

    def batch_read(self, batch: Mapping[TopicPartition, Sequence[Any]]) -> None:
        pass

    def timed(self, stage: str) -> AbstractContextManager[None]:
        return self._nothing

    def written(self, messages: Sequence[OutputMessage]) -> None:
        pass

    def settled(self, delivered: bool) -> None:
        pass

    def committed(self, offsets: Mapping[TopicPartition, int]) -> None:
        pass


NO_HOOKS: RunnerHooks = NoHooks()
