"""Check a directory of agreements: every load error and every lint, each at its file and line."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from gateway.errors import PolicyLoadError
from gateway.policy.compiler import compile_policies
from gateway.policy.datasets import DatasetShape
from gateway.policy.loader import load_policies
from gateway.policy.model import Agreement, PolicySet
from gateway.policy.tools._load import TOOLS_PSEUDONYM_SECRET
from gateway.policy.tools._locate import Loc, Locator
from gateway.policy.tools.lints import LintContext, lint_agreement
from gateway.settings import DEFAULT_DEPARTMENTS

__all__ = ["CheckReport", "Finding", "Severity", "check_policies"]

INVALID = "policy.invalid"
"""The code of every load or compile error."""

_PROBLEM = re.compile(r"^(?P<file>[^:\n]+?)(?::(?P<line>\d+))?: (?P<reason>.*)$", re.DOTALL)
_SUBJECT = re.compile(r"^agreement '(?P<agreement>[^']+)'(?: purpose '(?P<purpose>[^']+)')?: ")
_FIELD = re.compile(r"^(?P<side>request|response) field '(?P<name>[^']+)'")


class Severity(StrEnum):
    ERROR = "error"
    """The directory does not load: the gateway would refuse to start with it."""
    WARNING = "warning"
    """It loads, but something deserves attention."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: where it is (file and line, when known), a stable code and plain text."""

    severity: Severity
    code: str
    file: str | None
    line: int | None
    message: str
    agreement_id: str | None = None

    @property
    def where(self) -> str:
        if self.file is None:
            return "-"
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "file": self.file,
            "line": self.line,
            "agreement_id": self.agreement_id,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Everything ``check_policies`` found; ``version`` is None when the directory did not load."""

    directory: str
    today: date
    version: str | None
    agreements: int
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    def passed(self, *, strict: bool = False) -> bool:
        """No errors (and, when ``strict``, no warnings either)."""
        return not self.errors and not (strict and self.warnings)

    def summary(self) -> str:
        loaded = (
            f"{self.agreements} agreements, revision {self.version}"
            if self.version
            else "does not load"
        )
        return (
            f"{self.directory}: {loaded}; {len(self.errors)} errors, "
            f"{len(self.warnings)} warnings (as of {self.today.isoformat()})"
        )

    def lines(self) -> list[str]:
        """Plain lines, one per finding (``file:line: severity [code]: text``), then a summary."""
        out = [f"{f.where}: {f.severity.value} [{f.code}]: {f.message}" for f in self.findings]
        return [*out, self.summary()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "today": self.today.isoformat(),
            "version": self.version,
            "agreements": self.agreements,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [f.to_dict() for f in self.findings],
        }


def check_policies(
    directory: Path,
    today: date,
    *,
    departments: Collection[str] = DEFAULT_DEPARTMENTS,
    datasets: Mapping[str, DatasetShape] | None = None,
) -> CheckReport:
    """Validate and compile every file in ``directory``, then lint each agreement as of ``today``.

    ``datasets`` maps a providing department to its dataset's shape (default: the shipped
    schemas). Lints need every file to load; they run even when compiling fails. Compiling uses
    a stand-in pseudonym secret, and a lint names each transform that needs the real one.
    """
    directory = Path(directory)
    try:
        policy_set = load_policies(directory)
    except PolicyLoadError as exc:
        errors = tuple(_load_error(problem, directory) for problem in exc.problems)
        return CheckReport(str(directory), today, None, 0, errors)
    locator = Locator(directory)
    findings: list[Finding] = []
    version: str | None = policy_set.version
    try:
        compile_policies(policy_set, datasets=datasets, pseudonym_secret=TOOLS_PSEUDONYM_SECRET)
    except PolicyLoadError as exc:
        version = None
        findings += [_compile_error(p, directory, policy_set, locator) for p in exc.problems]
    ctx = LintContext(today=today, departments=frozenset(departments))
    findings += _lint(policy_set, ctx, locator)
    count = len(policy_set.agreements)
    return CheckReport(str(directory), today, version, count, tuple(findings))


def _lint(policy_set: PolicySet, ctx: LintContext, locator: Locator) -> list[Finding]:
    findings: list[Finding] = []
    for agreement in sorted(policy_set.agreements, key=lambda a: a.id):
        source = policy_set.sources.get(agreement.id)
        for lint in lint_agreement(agreement, ctx):
            line = locator.line(source, lint.loc)
            findings.append(
                Finding(Severity.WARNING, lint.code, source, line, lint.message, agreement.id)
            )
    return findings


def _load_error(problem: str, directory: Path) -> Finding:
    """A loader problem (``file:line: reason`` or ``file: reason``) as a finding."""
    match = _PROBLEM.match(problem)
    if match is None or match["file"] == str(directory):
        return Finding(Severity.ERROR, INVALID, None, None, problem)
    line = match["line"]
    return Finding(
        Severity.ERROR, INVALID, match["file"], int(line) if line else None, match["reason"]
    )


def _compile_error(
    problem: str, directory: Path, policy_set: PolicySet, locator: Locator
) -> Finding:
    """A compiler problem, placed at the line of the agreement key or field it is about."""
    finding = _load_error(problem, directory)
    subject = _SUBJECT.match(finding.message)
    if subject is None or finding.line is not None:
        return finding
    agreement = next((a for a in policy_set.agreements if a.id == subject["agreement"]), None)
    if agreement is None:
        return finding
    loc = _compile_loc(agreement, subject["purpose"], finding.message[subject.end() :])
    line = locator.line(finding.file, loc)
    return Finding(Severity.ERROR, INVALID, finding.file, line, finding.message, agreement.id)


def _compile_loc(agreement: Agreement, purpose_id: str | None, reason: str) -> Loc:
    if purpose_id is None:
        return ("provider",) if reason.startswith("provider ") else ("id",)
    index = next((i for i, p in enumerate(agreement.purposes) if p.id == purpose_id), None)
    if index is None:
        return ("purposes",)
    purpose = agreement.purposes[index]
    field = _FIELD.match(reason)
    if field is not None:
        if field["side"] == "request":
            names = list(purpose.request_fields)
            key = "request_fields"
        else:
            names = [rule.path for rule in purpose.response_fields]
            key = "response_fields"
        if field["name"] in names:
            return ("purposes", index, key, names.index(field["name"]))
        return ("purposes", index, key)
    for key in ("category", "children", "subject_conditions"):
        if reason.startswith(key) or f" {key}" in reason:
            return ("purposes", index, key)
    return ("purposes", index)
