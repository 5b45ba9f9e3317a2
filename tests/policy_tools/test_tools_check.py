"""gateway policy check: every load error at its file and line, and lints as warnings."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from policy_tools_support import SHIPPED, PolicyDir, crafted, edit, line_of, policy

from gateway.policy.tools import Severity, check_policies

TODAY = date(2026, 1, 1)


def codes(directory: Path) -> list[str]:
    return [f.code for f in check_policies(directory, TODAY).findings]


def test_the_shipped_agreements_pass_with_exit_status_0() -> None:
    result = policy("check", SHIPPED, "--today", "2026-01-01", "--format", "text")

    assert result.exit_code == 0, result.output
    assert "0 errors" in result.stdout


def test_a_misspelt_key_fails_naming_the_file_line_and_reason(policy_dir: PolicyDir) -> None:
    directory = policy_dir()
    broken = directory / "rtw-ho-status-check.yaml"
    edit(broken, "valid_from: 2018-04-01", "valid_form: 2018-04-01")

    result = policy("check", directory, "--format", "text")

    assert result.exit_code == 1
    line = line_of(broken, "valid_form")
    assert f"rtw-ho-status-check.yaml:{line}: error [policy.invalid]: valid_form: unknown key" in (
        result.stdout
    )


def test_a_field_the_dataset_lacks_fails_at_the_line_that_names_it(policy_dir: PolicyDir) -> None:
    directory = policy_dir()
    broken = directory / "ho-dfe-school-census.yaml"
    edit(broken, "school_name, school_urn]", "school_nmae, school_urn]")

    report = check_policies(directory, TODAY)

    (error,) = report.errors
    assert (error.file, error.line) == (broken.name, line_of(broken, "school_nmae"))
    assert "'school_nmae' is not a field" in error.message
    assert "did you mean 'school_name'" in error.message


def test_a_blank_legal_basis_is_an_error_at_its_line(policy_dir: PolicyDir) -> None:
    directory = policy_dir(shipped=False, files={"a.yaml": crafted()})
    edit(directory / "a.yaml", "legal_basis: Test Act 2020 s.1", 'legal_basis: " "')

    (error,) = check_policies(directory, TODAY).errors

    assert (error.file, error.line) == ("a.yaml", 5)
    assert "legal_basis" in error.message


def test_json_output_lists_every_finding_with_file_and_line(policy_dir: PolicyDir) -> None:
    directory = policy_dir()
    edit(directory / "ho-dfe-school-census.yaml", "status: active", "status: activ")

    result = policy("check", directory, "--format", "json")

    document = json.loads(result.stdout)
    assert result.exit_code == 1
    assert document["errors"] == 1
    (finding,) = document["findings"]
    assert finding["file"] == "ho-dfe-school-census.yaml"
    assert finding["line"] == line_of(directory / "ho-dfe-school-census.yaml", "status:")


def test_the_crafted_agreement_is_clean(policy_dir: PolicyDir) -> None:
    assert codes(policy_dir(shipped=False, files={"a.yaml": crafted()})) == []


@pytest.mark.parametrize(
    ("code", "old", "new", "at"),
    [
        ("parties.unknown_requester", "requester: ho", "requester: dvla", "requester:"),
        ("legal_basis.missing", "Test Act 2020 s.1", "TBC", "legal_basis:"),
        ("status.active_but_expired", "valid_until: 2030", "valid_until: 2025", "status:"),
        ("dates.ending_soon", "valid_until: 2030-12-31", "valid_until: 2026-01-20", "valid_until"),
        ("dates.review_overdue", "review_by: 2029-12-31", "review_by: 2025-06-30", "review_by"),
        ("dates.review_due_soon", "review_by: 2029-12-31", "review_by: 2026-01-31", "review_by"),
        (
            "fields.released_twice",
            "school_name]",
            "school_name, home_address.postcode]",
            "postcode",
        ),
        ("fields.request_unneeded", "[upn, surname]", "[upn, surname, nationality]", "nationality"),
        (
            "transforms.needs_secret",
            "school_name]",
            "{path: school_name, transform: pseudonym}]",
            "pseudonym",
        ),
    ],
)
def test_each_lint_fires_on_a_crafted_agreement_as_a_warning_at_its_line(
    policy_dir: PolicyDir, code: str, old: str, new: str, at: str
) -> None:
    directory = policy_dir(shipped=False, files={"a.yaml": crafted()})
    edit(directory / "a.yaml", old, new)

    report = check_policies(directory, TODAY)

    (finding,) = report.findings
    assert (finding.code, finding.severity) == (code, Severity.WARNING)
    assert (finding.file, finding.line) == ("a.yaml", line_of(directory / "a.yaml", at))
    assert report.passed() and not report.passed(strict=True)


def test_a_suspended_agreement_past_its_end_should_be_marked_ended(policy_dir: PolicyDir) -> None:
    text = crafted(status="suspended", valid_until="2025-12-31")
    directory = policy_dir(shipped=False, files={"a.yaml": text})

    assert codes(directory) == ["dates.expired"]


def test_an_ended_agreement_is_not_warned_about_its_dates(policy_dir: PolicyDir) -> None:
    text = crafted(status="ended", valid_until="2025-12-31", review_by="2025-06-30")
    directory = policy_dir(shipped=False, files={"a.yaml": text})

    assert codes(directory) == []


def test_a_provider_that_is_no_department_is_warned_about(policy_dir: PolicyDir) -> None:
    directory = policy_dir(shipped=False, files={"a.yaml": crafted()})
    edit(directory / "a.yaml", "provider: dfe", "provider: dvla")

    assert "parties.unknown_provider" in codes(directory)


def test_strict_turns_warnings_into_a_failing_exit_status(policy_dir: PolicyDir) -> None:
    directory = policy_dir(shipped=False, files={"a.yaml": crafted(review_by="2025-06-30")})

    assert policy("check", directory, "--today", "2026-01-01").exit_code == 0
    strict = policy("check", directory, "--today", "2026-01-01", "--strict")
    assert strict.exit_code == 1
    assert "dates.review_overdue" in strict.stdout


def test_dates_are_judged_as_of_the_given_day(policy_dir: PolicyDir) -> None:
    directory = policy_dir(shipped=False, files={"a.yaml": crafted(review_by="2026-06-30")})

    assert codes(directory) == []
    assert [f.code for f in check_policies(directory, date(2026, 6, 15)).findings] == [
        "dates.review_due_soon"
    ]
