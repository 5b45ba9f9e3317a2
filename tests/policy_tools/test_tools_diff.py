"""gateway policy diff: what a new revision changes, per agreement and purpose, in plain words."""

from __future__ import annotations

import json

from policy_tools_support import SHIPPED, PolicyDir, edit, policy

from gateway.policy.tools import diff_policies, load_compiled


def test_a_withdrawn_purpose_and_a_newly_released_field_are_told_plainly(
    policy_dir: PolicyDir,
) -> None:
    new = policy_dir()
    rtw = new / "rtw-ho-status-check.yaml"
    rtw.write_text(rtw.read_text().split("  - id: right-to-rent")[0], encoding="utf-8")
    edit(new / "ho-dfe-school-census.yaml", "school_urn]", "school_urn, year_group]")

    result = policy("diff", SHIPPED, new)

    assert result.exit_code == 0
    assert (
        "rtw-ho-status-check / right-to-rent: withdrawn: rtw may no longer ask ho for it"
        in result.stdout
    )
    assert "ho-dfe-school-census / locate-immigration-offender: newly releases year_group" in (
        result.stdout
    )


def test_identical_directories_have_no_changes(policy_dir: PolicyDir) -> None:
    result = policy("diff", SHIPPED, policy_dir())

    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "no changes"


def test_status_validity_prohibitions_and_transforms_are_compared(policy_dir: PolicyDir) -> None:
    new = policy_dir()
    hmrc = new / "ho-hmrc-shared-houses.yaml"
    edit(hmrc, "status: active", "status: suspended")
    edit(hmrc, "valid_until: 2027-03-31", "valid_until: 2026-12-31")
    edit(hmrc, "      - properties[].address.postcode\n", "")
    edit(
        hmrc,
        "      - employments[].employer_name\n",
        "      - employments[].employer_name\n"
        "      - path: properties[].address.postcode\n        transform: generalise\n",
    )
    edit(
        new / "rtw-ho-status-check.yaml",
        "purposes:",
        "prohibited_purposes:\n  - id: tenant-screening\n    reason: Not for screening.\npurposes:",
    )

    changes = diff_policies(load_compiled(SHIPPED), load_compiled(new))

    said = {(c.agreement_id, c.purpose, c.kind): c.text for c in changes}
    assert said[("ho-hmrc-shared-houses", None, "agreement.status")].startswith(
        "status changes from active to suspended"
    )
    assert said[("ho-hmrc-shared-houses", None, "agreement.validity")] == (
        "valid until changes from 2027-03-31 to 2026-12-31"
    )
    transform = said[("ho-hmrc-shared-houses", "identify-shared-houses", "transforms.changed")]
    assert transform == "properties[].address.postcode is now released as 'generalise' (was 'keep')"
    assert said[("rtw-ho-status-check", "tenant-screening", "purpose.prohibited")] == (
        "newly prohibited: Not for screening."
    )
    assert ("ho-hmrc-shared-houses", "identify-shared-houses", "fields.released") not in said


def test_added_and_removed_agreements_are_listed_with_their_purposes(
    policy_dir: PolicyDir,
) -> None:
    new = policy_dir()
    (new / "dwp-ho-interview-pilot.yaml").unlink()

    result = policy("diff", new, SHIPPED, "--format", "json")

    document = json.loads(result.stdout)
    kinds = [(c["agreement_id"], c["purpose"], c["kind"]) for c in document["changes"]]
    assert kinds == [
        ("dwp-ho-interview-pilot", None, "agreement.added"),
        ("dwp-ho-interview-pilot", "arrange-interview", "purpose.allowed"),
    ]


def test_markdown_groups_changes_per_agreement(policy_dir: PolicyDir) -> None:
    new = policy_dir()
    edit(new / "nhs-ho-status-check.yaml", "nationality]", "]")
    edit(
        new / "nhs-ho-status-check.yaml", "forenames, date_of_birth, ]", "forenames, date_of_birth]"
    )

    result = policy("diff", SHIPPED, new, "--format", "md")

    assert "## `nhs-ho-status-check`" in result.stdout
    assert "- purpose `overseas-visitor-charging`: may no longer send nationality" in result.stdout


def test_a_directory_that_does_not_load_exits_1_naming_the_problem(policy_dir: PolicyDir) -> None:
    new = policy_dir()
    edit(new / "rtw-ho-status-check.yaml", "status: active", "status: maybe")

    result = policy("diff", SHIPPED, new)

    assert result.exit_code == 1
    assert "rtw-ho-status-check.yaml:" in result.stderr
    assert "status" in result.stderr


def test_category_caps_and_subject_ages_are_compared(policy_dir: PolicyDir) -> None:
    new = policy_dir()
    debt = new / "ho-nhs-debtor-reporting.yaml"
    edit(debt, "category: immigration-casework", "category: immigration-enforcement")
    edit(
        debt,
        "      - debt_first_incurred\n",
        "      - debt_first_incurred\n    caps: {per_day: 50}\n",
    )
    edit(new / "ho-dfe-school-census.yaml", "    children: allowed\n", "")

    said = {
        (c.purpose, c.kind): c.text
        for c in diff_policies(load_compiled(SHIPPED), load_compiled(new))
    }

    debt_check = "immigration-application-debt-check"
    assert said[(debt_check, "purpose.category")] == (
        "category changes from immigration-casework to immigration-enforcement"
    )
    assert said[(debt_check, "purpose.caps")] == "volume caps change from none to 50 a day"
    assert said[(debt_check, "purpose.prohibited_globally")].startswith(
        "newly prohibited: The global prohibition 'health-data-for-immigration-enforcement'"
    )
    assert said[("locate-immigration-offender", "purpose.subjects")] == (
        "subjects released change from any age to aged 18 or over"
    )
