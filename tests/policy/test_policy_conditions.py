"""Conditions on the subject: children's records only where a purpose allows them; age limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.policy import PolicySet, Rule
from gateway.policy.conditions import age_on

Factory = Callable[..., Any]
TODAY = date(2025, 6, 1)


def _rule(policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, **purpose: Any) -> Any:
    policy = policy_of(agreement_doc(purpose_doc(**purpose)))
    return policy.purpose("ho-hmrc-test", "check").subject


def _born(years_ago: int, days: int = 0) -> dict[str, Any]:
    return {"date_of_birth": date(TODAY.year - years_ago, TODAY.month, TODAY.day + days)}


def test_childrens_records_are_withheld_unless_the_purpose_allows_them(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory
) -> None:
    rule = _rule(policy_of, agreement_doc, purpose_doc)
    reason = rule.check(_born(17), TODAY)
    assert reason is not None and reason.code == Rule.SUBJECT_CHILD
    assert "under 18" in reason.message and "'check'" in reason.message
    assert rule.check(_born(18), TODAY) is None


def test_a_child_turns_18_on_their_birthday_not_before(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory
) -> None:
    rule = _rule(policy_of, agreement_doc, purpose_doc)
    assert rule.check(_born(18, days=1), TODAY) is not None  # 18 tomorrow
    assert rule.check(_born(18), TODAY) is None


def test_a_purpose_that_allows_children_releases_any_age(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory
) -> None:
    assert _rule(policy_of, agreement_doc, purpose_doc, children="allowed") is None


def test_min_and_max_age_narrow_the_subjects_further(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory
) -> None:
    rule = _rule(
        policy_of,
        agreement_doc,
        purpose_doc,
        children="allowed",
        subject_conditions={"min_age": 16, "max_age": 65},
    )
    assert rule.check(_born(15), TODAY).code == Rule.SUBJECT_MIN_AGE
    assert rule.check(_born(16), TODAY) is None
    assert rule.check(_born(65), TODAY) is None
    assert rule.check(_born(66), TODAY).code == Rule.SUBJECT_MAX_AGE


def test_an_adult_minimum_age_applies_without_allowing_children(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory
) -> None:
    rule = _rule(policy_of, agreement_doc, purpose_doc, subject_conditions={"min_age": 21})
    assert rule.check(_born(17), TODAY).code == Rule.SUBJECT_CHILD
    assert rule.check(_born(20), TODAY).code == Rule.SUBJECT_MIN_AGE
    assert rule.check(_born(21), TODAY) is None


@pytest.mark.parametrize("born", [None, "1990-02-03", 19900203])
def test_a_record_without_a_readable_date_of_birth_is_withheld(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, born: object
) -> None:
    rule = _rule(policy_of, agreement_doc, purpose_doc)
    assert rule.check({"date_of_birth": born}, TODAY).code == Rule.SUBJECT_AGE_UNKNOWN
    assert rule.check({}, TODAY).code == Rule.SUBJECT_AGE_UNKNOWN


def test_age_counts_whole_years_and_leap_day_birthdays_come_on_1_march() -> None:
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18
    assert age_on(date(1990, 6, 2), date(2025, 6, 1)) == 34


@pytest.mark.parametrize(
    ("purpose", "message"),
    [
        ({"children": "allowed", "subject_conditions": {"min_age": 18}}, "contradicts min_age"),
        ({"subject_conditions": {"min_age": 16}}, "min_age 16 needs children: allowed"),
        ({"subject_conditions": {"max_age": 12}}, "max_age 12 needs children: allowed"),
        ({"subject_conditions": {"min_age": 40, "max_age": 30}}, "must not be less than min_age"),
        ({"subject_conditions": {}}, "give min_age, max_age or both"),
        ({"children": "sometimes"}, "children"),
    ],
)
def test_age_conditions_that_contradict_themselves_do_not_load(
    agreement_doc: Factory, purpose_doc: Factory, purpose: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        PolicySet.of([agreement_doc(purpose_doc(**purpose))])
