"""Hot reload: a changed policy directory takes effect without a restart.

:class:`PolicyWatcher` hashes the directory every second (:func:`directory_version`, the same
content hash a loaded set is versioned by). When the hash differs from the active version it
loads and compiles the directory: a valid set replaces the active one in the
:class:`PolicyHolder`, whose listeners each receive the :class:`PolicyChange`; an invalid one is
logged as an error listing every problem, and the active set stays.

Hook for the audit log: subscribe a listener that turns each :class:`PolicyChange` into an audit
record (``change.reasons()`` are ready-made reasons, ``change.new_version`` its policy version)
and have the runner write it before the next batch's outputs, so evidence of the change precedes
any decision made under it. ``on_rejected`` receives each :class:`PolicyRejected` the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import PolicyLoadError
from gateway.policy.changes import PolicyChange, describe_change
from gateway.policy.compiler import CompiledPolicy, compile_policies
from gateway.policy.loader import directory_version, read_policies
from gateway.policy.model import PolicySet

__all__ = ["PolicyHolder", "PolicyRejected", "PolicyWatcher"]

log = logging.getLogger("gateway.policy")

Listener = Callable[[PolicyChange], None]


@dataclass(frozen=True, slots=True)
class PolicyRejected:
    """A changed directory that did not load; the active policy set stayed in force."""

    directory: Path
    active_version: str
    problems: tuple[str, ...]


class PolicyHolder:
    """The active compiled policy; replacing it tells every listener what changed."""

    __slots__ = ("_listeners", "_policy")

    def __init__(self, policy: CompiledPolicy) -> None:
        self._policy = policy
        self._listeners: list[Listener] = []

    @property
    def policy(self) -> CompiledPolicy:
        return self._policy

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with every future change, in the order listeners subscribed."""
        self._listeners.append(listener)

    def replace(self, new: CompiledPolicy) -> PolicyChange | None:
        """Make ``new`` active; None (and no change) if it has the active version already."""
        old = self._policy
        if new.version == old.version:
            return None
        change = describe_change(old, new)
        self._policy = new
        log.warning("policy reloaded: %s", change.summary)
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:  # one failing listener must not keep the others uninformed
                log.exception("a policy change listener failed")
        return change


class PolicyWatcher:
    """Polls a policy directory and applies valid changes to a :class:`PolicyHolder`."""

    def __init__(
        self,
        directory: Path,
        holder: PolicyHolder,
        *,
        compile: Callable[[PolicySet], CompiledPolicy] = compile_policies,
        interval: float = 1.0,
        on_rejected: Callable[[PolicyRejected], None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.holder = holder
        self.interval = interval
        self._compile = compile
        self._on_rejected = on_rejected
        self._rejected: str | None = None
        """The version last rejected, so one bad edit is reported once, not every second."""

    def check(self) -> PolicyChange | PolicyRejected | None:
        """Poll once: apply a valid change, report an invalid one, else None."""
        outcome = self._load()
        return None if outcome is None else self._apply(outcome)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set; loading runs off the loop."""
        while not stop.is_set():
            outcome = await asyncio.to_thread(self._load)
            if outcome is not None:
                self._apply(outcome)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)

    def _load(self) -> tuple[str, CompiledPolicy | PolicyRejected] | None:
        """The directory's version and its compiled set (or why it does not load), or None if
        that version is active or was rejected already."""
        active = self.holder.policy.version
        version = ""
        try:
            version = directory_version(self.directory)
            if version in (active, self._rejected):
                return None
            policy_set, problems = read_policies(self.directory)
            if policy_set is not None:
                try:
                    compiled = self._compile(policy_set)
                except PolicyLoadError as exc:  # compile the agreements that loaded, so that
                    problems += tuple(exc.problems)  # the report lists every problem at once
                else:
                    if not problems:
                        return version, compiled
        except PolicyLoadError as exc:
            problems = tuple(exc.problems)
        except OSError as exc:
            problems = (f"{self.directory}: cannot be read ({exc.strerror or exc})",)
        return version, PolicyRejected(self.directory, active, problems)

    def _apply(
        self, loaded: tuple[str, CompiledPolicy | PolicyRejected]
    ) -> PolicyChange | PolicyRejected | None:
        version, outcome = loaded
        if isinstance(outcome, PolicyRejected):
            self._rejected = version or None
            log.error(
                "POLICY CHANGE REJECTED in %s; version %s stays in force. Problems:\n  %s",
                outcome.directory,
                outcome.active_version,
                "\n  ".join(outcome.problems),
            )
            if self._on_rejected is not None:
                self._on_rejected(outcome)
            return outcome
        self._rejected = None
        return self.holder.replace(outcome)
