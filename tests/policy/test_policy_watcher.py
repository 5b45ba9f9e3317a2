"""Hot reload: a valid change to the policy directory takes effect, an invalid one never does."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from gateway.policy import (
    AgreementStatus,
    CompiledPolicy,
    PolicyChange,
    PolicyHolder,
    PolicyRejected,
    PolicyWatcher,
    compile_policies,
    describe_change,
    load_policies,
)

SHIPPED = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """A copy of the shipped policy directory that a test may edit."""
    target = tmp_path / "policies"
    shutil.copytree(SHIPPED, target)
    return target


def _load(directory: Path) -> CompiledPolicy:
    return compile_policies(load_policies(directory))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _watch(directory: Path) -> tuple[PolicyHolder, PolicyWatcher, list[Any]]:
    holder = PolicyHolder(_load(directory))
    seen: list[Any] = []
    holder.subscribe(seen.append)
    return holder, PolicyWatcher(directory, holder, on_rejected=seen.append), seen


def test_an_unchanged_directory_changes_nothing(policy_dir: Path) -> None:
    _, watcher, seen = _watch(policy_dir)
    (policy_dir / "README.md").write_text("notes are not policy", encoding="utf-8")
    assert watcher.check() is None
    assert seen == []


def test_a_valid_change_is_applied_and_described_to_every_listener(policy_dir: Path) -> None:
    holder, watcher, seen = _watch(policy_dir)
    before = holder.policy
    _edit(policy_dir / "rtw-ho-status-check.yaml", "status: active", "status: suspended")

    change = watcher.check()

    assert isinstance(change, PolicyChange)
    assert seen == [change]
    assert holder.policy is change.new and change.old is before
    assert (change.old_version, change.new_version) == (before.version, holder.policy.version)
    assert change.new_version == load_policies(policy_dir).version
    agreement = holder.policy.agreement("rtw-ho-status-check")
    assert agreement is not None and agreement.status is AgreementStatus.SUSPENDED
    assert change.added == change.removed == ()
    [changed] = change.changed
    assert (changed.id, changed.status, changed.terms) == (
        "rtw-ho-status-check",
        ("active", "suspended"),
        ("status",),
    )
    assert "'rtw-ho-status-check' (status active -> suspended)" in change.summary
    assert watcher.check() is None  # applied once


def test_an_invalid_change_keeps_the_old_set_and_is_logged_with_every_problem(
    policy_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder, watcher, seen = _watch(policy_dir)
    before = holder.policy
    _edit(policy_dir / "rtw-ho-status-check.yaml", "status: active", "status: paused")
    _edit(policy_dir / "nhs-ho-status-check.yaml", "- leave_expiry", "- leave_expiri")

    with caplog.at_level(logging.ERROR, logger="gateway.policy"):
        rejected = watcher.check()

    assert isinstance(rejected, PolicyRejected)
    assert holder.policy is before
    assert rejected.active_version == before.version
    assert len(rejected.problems) == 2
    assert seen == [rejected]
    [record] = caplog.records
    assert "POLICY CHANGE REJECTED" in record.getMessage()
    assert "rtw-ho-status-check.yaml" in record.getMessage()
    assert "leave_expiri" in record.getMessage()
    assert watcher.check() is None  # the same bad edit is reported once


def test_fixing_an_invalid_change_applies_the_fixed_set(policy_dir: Path) -> None:
    _, watcher, _ = _watch(policy_dir)
    path = policy_dir / "rtw-ho-status-check.yaml"
    _edit(path, "status: active", "status: paused")
    assert isinstance(watcher.check(), PolicyRejected)
    _edit(path, "status: paused", "status: ended")
    change = watcher.check()
    assert isinstance(change, PolicyChange)
    assert change.changed[0].status == ("active", "ended")


def test_added_removed_changed_and_global_changes_are_all_named(policy_dir: Path) -> None:
    old = _load(policy_dir)
    (policy_dir / "ho-nhs-tracing-withdrawn.yaml").unlink()
    shutil.copy(policy_dir / "rtw-ho-status-check.yaml", policy_dir / "copy.yaml")
    _edit(policy_dir / "copy.yaml", "id: rtw-ho-status-check", "id: rtw-ho-status-check-two")
    _edit(policy_dir / "ho-nhs-debtor-reporting.yaml", "band: 500", "band: 1000")
    _edit(policy_dir / "global.yaml", "require_category: true", "require_category: false")

    change = describe_change(old, _load(policy_dir))

    assert change.added == ("rtw-ho-status-check-two",)
    assert change.removed == ("ho-nhs-tracing-withdrawn",)
    [changed] = change.changed
    assert changed.id == "ho-nhs-debtor-reporting"
    assert changed.purposes_changed == ("immigration-application-debt-check",)
    assert changed.terms == ()
    assert change.global_changed
    codes = [reason.code for reason in change.reasons()]
    assert codes == [
        "policy.changed",
        "policy.agreement_added",
        "policy.agreement_removed",
        "policy.agreement_changed",
        "policy.global_changed",
    ]


def test_a_failing_listener_does_not_stop_the_others(policy_dir: Path) -> None:
    holder = PolicyHolder(_load(policy_dir))
    seen: list[PolicyChange] = []

    def broken(change: PolicyChange) -> None:
        raise RuntimeError("listener bug")

    holder.subscribe(broken)
    holder.subscribe(seen.append)
    _edit(policy_dir / "rtw-ho-status-check.yaml", "status: active", "status: suspended")
    assert PolicyWatcher(policy_dir, holder).check() is not None
    assert len(seen) == 1


async def test_the_running_watcher_swaps_the_policy_within_its_polling_interval(
    policy_dir: Path,
) -> None:
    holder = PolicyHolder(_load(policy_dir))
    swapped = asyncio.Event()
    holder.subscribe(lambda change: swapped.set())
    stop = asyncio.Event()
    task = asyncio.create_task(PolicyWatcher(policy_dir, holder, interval=0.05).run(stop))
    try:
        await asyncio.sleep(0.1)
        _edit(policy_dir / "rtw-ho-status-check.yaml", "status: active", "status: suspended")
        await asyncio.wait_for(swapped.wait(), timeout=5)
    finally:
        stop.set()
        await task
    assert holder.policy.version == load_policies(policy_dir).version
