"""decide(): default deny, every reason in a fixed order, minimised and narrowed approvals."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from gateway.envelope.models import AuditOutcome, ExchangeRequest
from gateway.policy import CompiledPolicy, PolicySet, Rule, SentAtWindow, compile_policies, decide
from gateway.redaction import EMPTY_PATHS

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def agreement(**overrides: Any) -> dict[str, Any]:
    """An active ho -> dfe agreement with one purpose; override any key."""
    base: dict[str, Any] = {
        "id": "ho-dfe-test",
        "title": "Test agreement",
        "requester": "ho",
        "provider": "dfe",
        "legal_basis": "Test Act 2020 s.1",
        "reference": "MoU TEST/1",
        "owner": "Test team",
        "status": "active",
        "valid_from": "2020-01-01",
        "valid_until": "2030-12-31",
        "purposes": [
            {
                "id": "locate",
                "description": "Find a person's address.",
                "subject_identifiers": ["upn"],
                "request_fields": ["upn", "surname", "date_of_birth"],
                "response_fields": ["home_address", "school_name", "school_urn"],
            }
        ],
        "prohibited_purposes": [
            {"id": "nationality-data-collection", "reason": "Nationality is never shared."}
        ],
    }
    base.update(overrides)
    return base


def policy(*agreements: dict[str, Any]) -> CompiledPolicy:
    return compile_policies(PolicySet.of(agreements or [agreement()], version="test-v1"))


def request(**overrides: Any) -> ExchangeRequest:
    fields: dict[str, Any] = {
        "request_id": "req-1",
        "requester": "ho",
        "provider": "dfe",
        "agreement_id": "ho-dfe-test",
        "purpose": "locate",
        "query": {"upn": "A123456789012", "surname": "Smith"},
        "sent_at": NOW,
    }
    fields.update(overrides)
    return ExchangeRequest(**fields)


def codes(decision: Any) -> list[str]:
    return [reason.code for reason in decision.reasons]


# --- approval -------------------------------------------------------------------------------


def test_approves_a_request_the_agreement_allows_and_says_which_agreement_and_purpose() -> None:
    decision = decide(policy(), request(), sender="ho", now=NOW)
    assert decision.allowed
    assert decision.outcome is AuditOutcome.APPROVED
    assert codes(decision) == [Rule.AGREEMENT_ALLOWS]
    assert "ho-dfe-test" in decision.reasons[0].message
    assert "locate" in decision.reasons[0].message
    assert decision.query == {"upn": "A123456789012", "surname": "Smith"}
    assert decision.removed_query_fields == ()
    assert decision.response_fields == ("home_address", "school_name", "school_urn")
    assert decision.response_paths.paths == decision.response_fields
    assert decision.subject_fields == ("upn",)
    assert decision.policy_version == "test-v1"
    assert (decision.agreement_id, decision.purpose) == ("ho-dfe-test", "locate")


def test_removes_query_fields_the_purpose_does_not_need_and_names_them() -> None:
    query = {"upn": "A1", "nationality": "FRA", "ethnicity": "X"}
    decision = decide(policy(), request(query=query), sender="ho", now=NOW)
    assert decision.allowed
    assert decision.outcome is AuditOutcome.APPROVED_MINIMISED
    assert decision.query == {"upn": "A1"}
    assert decision.removed_query_fields == ("ethnicity", "nationality")
    assert codes(decision) == [Rule.AGREEMENT_ALLOWS, Rule.QUERY_MINIMISED]
    assert "ethnicity, nationality" in decision.reasons[1].message
    assert "FRA" not in decision.reasons[1].message


def test_wanted_narrows_the_response_fields_to_what_was_asked_for() -> None:
    decision = decide(policy(), request(wanted=["school_name"]), sender="ho", now=NOW)
    assert decision.response_fields == ("school_name",)
    assert decision.response_paths.paths == ("school_name",)


def test_a_wanted_path_inside_an_allowed_subtree_is_allowed() -> None:
    decision = decide(policy(), request(wanted=["home_address.postcode"]), sender="ho", now=NOW)
    assert decision.response_fields == ("home_address.postcode",)


def test_wanted_paths_that_are_not_allowed_are_dropped() -> None:
    wanted = ["school_urn", "nationality", "ethnicity", "no_such_field"]
    decision = decide(policy(), request(wanted=wanted), sender="ho", now=NOW)
    assert decision.allowed
    assert decision.response_fields == ("school_urn",)


def test_a_wanted_parent_of_allowed_paths_yields_only_the_allowed_paths() -> None:
    purposes = [
        {
            "id": "locate",
            "description": "d",
            "subject_identifiers": ["upn"],
            "request_fields": ["upn"],
            "response_fields": ["home_address.postcode"],
        }
    ]
    decision = decide(
        policy(agreement(purposes=purposes)),
        request(wanted=["home_address"]),
        sender="ho",
        now=NOW,
    )
    assert decision.response_fields == ("home_address.postcode",)


# --- denial rules, one by one ---------------------------------------------------------------


def test_denies_a_sender_acting_as_another_department() -> None:
    decision = decide(policy(), request(), sender="dwp", now=NOW)
    assert not decision.allowed
    assert decision.outcome is AuditOutcome.DENIED
    assert codes(decision) == [Rule.REQUESTER_MISMATCH]


def test_denies_an_unknown_agreement() -> None:
    decision = decide(policy(), request(agreement_id="no-such-agreement"), sender="ho", now=NOW)
    assert codes(decision) == [Rule.AGREEMENT_UNKNOWN]
    assert "no-such-agreement" in decision.reasons[0].message


def test_denies_parties_the_agreement_is_not_between() -> None:
    decision = decide(policy(), request(requester="dwp", provider="dfe"), sender="dwp", now=NOW)
    assert codes(decision) == [Rule.AGREEMENT_PARTIES]


def test_denies_a_prohibited_purpose_quoting_the_agreements_reason() -> None:
    decision = decide(
        policy(), request(purpose="nationality-data-collection"), sender="ho", now=NOW
    )
    assert codes(decision) == [Rule.PURPOSE_PROHIBITED]
    assert "Nationality is never shared." in decision.reasons[0].message


@pytest.mark.parametrize("status", ["suspended", "ended"])
def test_denies_under_an_agreement_that_is_not_active(status: str) -> None:
    decision = decide(policy(agreement(status=status)), request(), sender="ho", now=NOW)
    assert codes(decision) == [Rule.AGREEMENT_STATUS]
    assert status in decision.reasons[0].message


def test_denies_before_the_agreement_comes_into_force() -> None:
    decision = decide(policy(agreement(valid_from="2025-06-02")), request(), sender="ho", now=NOW)
    assert codes(decision) == [Rule.AGREEMENT_NOT_YET_VALID]


def test_denies_after_the_agreement_expires_but_not_on_its_last_day() -> None:
    expired = policy(agreement(valid_until="2025-05-31"))
    last_day = policy(agreement(valid_until="2025-06-01"))
    assert codes(decide(expired, request(), sender="ho", now=NOW)) == [Rule.AGREEMENT_EXPIRED]
    assert decide(last_day, request(), sender="ho", now=NOW).allowed


def test_denies_a_purpose_the_agreement_does_not_allow() -> None:
    decision = decide(policy(), request(purpose="general-enquiry"), sender="ho", now=NOW)
    assert codes(decision) == [Rule.PURPOSE_NOT_ALLOWED]
    assert "locate" in decision.reasons[0].message


@pytest.mark.parametrize("query", [{}, {"surname": "Smith"}, {"upn": "  "}])
def test_denies_a_query_with_no_subject_identifier(query: dict[str, str]) -> None:
    decision = decide(policy(), request(query=query), sender="ho", now=NOW)
    assert codes(decision) == [Rule.NO_SUBJECT_IDENTIFIER]
    assert "upn" in decision.reasons[0].message


def test_denies_when_none_of_the_wanted_fields_is_allowed() -> None:
    decision = decide(policy(), request(wanted=["nationality"]), sender="ho", now=NOW)
    assert codes(decision) == [Rule.FIELDS_NONE_ALLOWED]


# --- how denials behave ---------------------------------------------------------------------


def test_collects_every_applicable_reason_in_a_fixed_order() -> None:
    ended = agreement(status="ended", valid_from="2015-01-01", valid_until="2016-01-01")
    decision = decide(
        policy(ended),
        request(requester="dwp", provider="nhs", query={}, wanted=["nationality"]),
        sender="hmrc",
        now=NOW,
    )
    assert codes(decision) == [
        Rule.REQUESTER_MISMATCH,
        Rule.AGREEMENT_PARTIES,
        Rule.AGREEMENT_STATUS,
        Rule.AGREEMENT_EXPIRED,
        Rule.NO_SUBJECT_IDENTIFIER,
        Rule.FIELDS_NONE_ALLOWED,
    ]


def test_a_prohibited_purpose_is_not_also_reported_as_merely_not_allowed() -> None:
    decision = decide(
        policy(), request(purpose="nationality-data-collection"), sender="ho", now=NOW
    )
    assert Rule.PURPOSE_NOT_ALLOWED not in codes(decision)


def test_a_denial_releases_no_fields() -> None:
    decision = decide(policy(agreement(status="suspended")), request(), sender="ho", now=NOW)
    assert decision.response_fields == ()
    assert decision.response_paths == EMPTY_PATHS
    assert decision.policy_version == "test-v1"


def test_a_denial_still_minimises_the_query_it_records() -> None:
    query = {"upn": "A1", "nationality": "FRA"}
    decision = decide(
        policy(agreement(status="suspended")), request(query=query), sender="ho", now=NOW
    )
    assert decision.query == {"upn": "A1"}
    assert decision.removed_query_fields == ("nationality",)
    assert decision.subject_fields == ("upn",)


def test_the_same_inputs_always_give_the_same_decision() -> None:
    first, second = policy(), policy()
    for req in (request(), request(query={"upn": "A1", "x": "y"}), request(purpose="nope")):
        decisions = [decide(p, req, sender="ho", now=NOW) for p in (first, first, second)]
        assert decisions[0] == decisions[1] == decisions[2]


def test_a_decision_cannot_be_changed() -> None:
    decision = decide(policy(), request(), sender="ho", now=NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.allowed = False  # type: ignore[misc]


# --- fail closed ----------------------------------------------------------------------------


def test_a_naive_time_fails_closed_instead_of_guessing_a_timezone() -> None:
    decision = decide(policy(), request(), sender="ho", now=datetime(2025, 6, 1, 12))
    assert not decision.allowed
    assert decision.outcome is AuditOutcome.DENIED
    assert codes(decision) == [Rule.EVALUATION_ERROR]
    assert decision.response_fields == ()


class _Exploding(Mapping[Any, Any]):
    def __getitem__(self, key: Any) -> Any:
        raise RuntimeError("broken index")

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def get(self, key: Any, default: Any = None) -> Any:
        raise RuntimeError("broken index")


def test_an_error_inside_evaluation_denies_with_policy_evaluation_error() -> None:
    broken = dataclasses.replace(policy(), by_id=_Exploding())
    decision = decide(broken, request(), sender="ho", now=NOW)
    assert not decision.allowed
    assert codes(decision) == [Rule.EVALUATION_ERROR]
    assert "RuntimeError" in decision.reasons[0].message
    assert "broken index" not in decision.reasons[0].message
    assert decision.policy_version == "test-v1"


# --- time ----------------------------------------------------------------------------------


@pytest.mark.parametrize("hours", [-10, -5, 0, 1, 9, 14])
def test_validity_is_judged_on_the_utc_day_of_the_instant_whatever_its_offset(hours: int) -> None:
    """Valid from 2020-01-01 (UTC): 2019-12-31T23:59:59.999Z is refused, 2020-01-01T00:00Z is
    not, however the two instants are written."""
    zone = timezone(timedelta(hours=hours))
    before = datetime(2019, 12, 31, 23, 59, 59, 999000, tzinfo=UTC).astimezone(zone)
    first = datetime(2020, 1, 1, tzinfo=UTC).astimezone(zone)

    assert codes(decide(policy(), request(sent_at=before), sender="ho", now=before)) == [
        Rule.AGREEMENT_NOT_YET_VALID
    ]
    assert decide(policy(), request(sent_at=first), sender="ho", now=first).allowed


def test_sent_at_is_only_checked_against_a_window_when_one_is_given() -> None:
    old = request(sent_at=NOW - timedelta(days=3))

    assert decide(policy(), old, sender="ho", now=NOW).allowed
    windowed = decide(policy(), old, sender="ho", now=NOW, sent_at_window=SentAtWindow())
    assert codes(windowed) == [Rule.SENT_AT_STALE]
    assert "3 d before the gateway received it" in windowed.reasons[0].message


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        SentAtWindow(ahead=timedelta(seconds=-1))
