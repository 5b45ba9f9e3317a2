"""Global prohibitions (policies/global.yaml): rules over every agreement, with their reasons."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.envelope.models import AuditOutcome, ProviderResponse, ResponseStatus
from gateway.errors import PolicyLoadError
from gateway.exchange.release import ReleaseChecker
from gateway.policy import GlobalPolicy, PolicySet, Rule, compile_policies, decide, load_policies

Factory = Callable[..., Any]
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
REASON = "Health records must never be used to trace immigration offenders."


def rules(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "categories": {
            "immigration-enforcement": "Finding or removing people.",
            "entitlement-check": "Checking entitlement to a service.",
        },
        "prohibitions": [
            {
                "id": "health-data-for-immigration-enforcement",
                "providers": ["nhs"],
                "categories": ["immigration-enforcement"],
                "reason": REASON,
            }
        ],
    }
    base.update(overrides)
    return base


def nhs_agreement(agreement_doc: Factory, category: str | None) -> dict[str, Any]:
    purpose = {
        "id": "trace",
        "description": "Find a patient's address.",
        "subject_identifiers": ["nhs_number"],
        "request_fields": ["nhs_number"],
        "response_fields": ["address"],
        "category": category,
    }
    return agreement_doc(purpose, id="ho-nhs-test", provider="nhs")


def ask(policy: Any, request_of: Factory, purpose: str = "trace") -> Any:
    request = request_of(
        provider="nhs", agreement_id="ho-nhs-test", purpose=purpose, query={"nhs_number": "1"}
    )
    return decide(policy, request, sender="ho", now=NOW)


def test_a_globally_prohibited_purpose_is_denied_with_the_prohibitions_reason(
    policy_of: Factory, agreement_doc: Factory, request_of: Factory
) -> None:
    policy = policy_of(
        nhs_agreement(agreement_doc, "immigration-enforcement"), global_policy=rules()
    )
    decision = ask(policy, request_of)
    assert not decision.allowed
    assert decision.outcome is AuditOutcome.DENIED
    assert [r.code for r in decision.reasons] == [Rule.PROHIBITION_GLOBAL]
    assert "health-data-for-immigration-enforcement" in decision.reasons[0].message
    assert REASON in decision.reasons[0].message


def test_the_same_provider_for_another_category_is_not_prohibited(
    policy_of: Factory, agreement_doc: Factory, request_of: Factory
) -> None:
    policy = policy_of(nhs_agreement(agreement_doc, "entitlement-check"), global_policy=rules())
    assert ask(policy, request_of).allowed


def test_the_same_category_from_another_provider_is_not_prohibited(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, request_of: Factory
) -> None:
    doc = agreement_doc(purpose_doc(category="immigration-enforcement"))
    policy = policy_of(doc, global_policy=rules())
    assert decide(policy, request_of(), sender="ho", now=NOW).allowed


def test_a_prohibition_without_categories_covers_every_purpose_of_its_parties(
    policy_of: Factory, agreement_doc: Factory, request_of: Factory
) -> None:
    party_wide = rules(
        prohibitions=[
            {"id": "no-ho-to-nhs", "requesters": ["ho"], "providers": ["nhs"], "reason": "x"}
        ]
    )
    policy = policy_of(nhs_agreement(agreement_doc, None), global_policy=party_wide)
    assert [r.code for r in ask(policy, request_of).reasons] == [Rule.PROHIBITION_GLOBAL]
    unknown = [r.code for r in ask(policy, request_of, purpose="other").reasons]
    assert unknown == [Rule.PROHIBITION_GLOBAL, Rule.PURPOSE_NOT_ALLOWED]


def test_a_prohibition_that_arrives_after_approval_blocks_the_release(
    policy_of: Factory, agreement_doc: Factory
) -> None:
    doc = nhs_agreement(agreement_doc, "immigration-enforcement")
    response = ProviderResponse(
        request_id="req-1",
        responder="nhs",
        requester="ho",
        agreement_id="ho-nhs-test",
        purpose="trace",
        wanted=["address"],
        issued_at=NOW,
        token="t",
        status=ResponseStatus.FOUND,
        sent_at=NOW,
    )
    checker = ReleaseChecker()
    assert checker.check(
        policy_of(doc, global_policy=rules(prohibitions=[])), response, NOW
    ).allowed
    blocked = checker.check(policy_of(doc, global_policy=rules()), response, NOW)
    assert not blocked.allowed
    assert [r.code for r in blocked.reasons] == [Rule.PROHIBITION_GLOBAL]


def test_a_purposes_category_must_be_declared(agreement_doc: Factory) -> None:
    policy_set = PolicySet.of([nhs_agreement(agreement_doc, "enforcement")], global_policy=rules())
    with pytest.raises(PolicyLoadError) as caught:
        compile_policies(policy_set)
    [problem] = caught.value.problems
    assert "category 'enforcement' is not declared in global.yaml" in problem


def test_require_category_refuses_a_purpose_without_one(agreement_doc: Factory) -> None:
    strict = rules(require_category=True)
    policy_set = PolicySet.of([nhs_agreement(agreement_doc, None)], global_policy=strict)
    with pytest.raises(PolicyLoadError) as caught:
        compile_policies(policy_set)
    assert "needs a category" in caught.value.problems[0]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (rules(prohibitions=[{"id": "p", "reason": "r"}]), "name providers, requesters"),
        (
            rules(prohibitions=[{"id": "p", "reason": "r", "categories": ["x"]}]),
            "names undeclared categories: x",
        ),
        (rules(colour="blue"), "colour"),
        (rules(categories={}, require_category=True), "needs at least one declared category"),
    ],
)
def test_global_rules_that_cannot_work_do_not_load(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GlobalPolicy.model_validate(document)


def test_global_yaml_is_loaded_beside_the_agreements_and_versioned_with_them(
    tmp_path: Path,
) -> None:
    shipped = Path(__file__).resolve().parents[2] / "policies"
    for name in ("ho-nhs-debtor-reporting.yaml", "global.yaml"):
        (tmp_path / name).write_bytes((shipped / name).read_bytes())
    policy_set = load_policies(tmp_path)
    assert policy_set.global_source == "global.yaml"
    assert "immigration-enforcement" in policy_set.global_policy.categories
    assert [a.id for a in policy_set.agreements] == ["ho-nhs-debtor-reporting"]
    before = policy_set.version
    (tmp_path / "global.yaml").write_text(
        (shipped / "global.yaml").read_text() + "# reviewed\n", encoding="utf-8"
    )
    assert load_policies(tmp_path).version != before


def test_a_bad_global_yaml_is_reported_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "global.yaml").write_text(
        textwrap.dedent(
            """\
            categories:
              immigration-enforcement: Finding people.
            prohibitions:
              - id: p
                reason: r
            """
        ),
        encoding="utf-8",
    )
    shipped = Path(__file__).resolve().parents[2] / "policies"
    (tmp_path / "a.yaml").write_bytes((shipped / "rtw-ho-status-check.yaml").read_bytes())
    with pytest.raises(PolicyLoadError) as caught:
        load_policies(tmp_path)
    [problem] = caught.value.problems
    assert problem.startswith("global.yaml:4: prohibitions[0].categories: name providers")
