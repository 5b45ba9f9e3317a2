"""gateway policy explain: one request's decision, every reason, and the field names it moves."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from policy_tools_support import SHIPPED, PolicyDir, crafted, edit, policy

from gateway.envelope.models import ExchangeRequest
from gateway.policy.tools import explain_request, load_compiled, read_request_file

PILOT = """\
requester: ho
provider: dwp
agreement_id: dwp-ho-interview-pilot
purpose: arrange-interview
query: {nino: QQ123456C, surname: Smith}
"""

NATIONALITY = {
    "requester": "ho",
    "provider": "dfe",
    "agreement_id": "ho-dfe-school-census",
    "purpose": "nationality-data-collection",
    "query": {"upn": "A123456789012"},
    "sent_at": "2026-01-05T09:30:00Z",
}

CENSUS = """\
requester: ho
provider: dfe
agreement_id: ho-dfe-school-census
purpose: locate-immigration-offender
query: {upn: A123456789012, surname: Smith, nationality: Ruritanian, date_of_birth: 2012-01-01}
wanted: [home_address, school_name, nationality]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_ended_pilot_is_denied_with_every_reason(tmp_path: Path) -> None:
    request = write(tmp_path, "pilot.yaml", PILOT)

    result = policy("explain", "--policies", SHIPPED, request, "--at", "2026-01-05T10:00:00Z")

    assert result.exit_code == 0, result.output
    assert "outcome: DENIED" in result.stdout
    assert "agreement.status: Agreement 'dwp-ho-interview-pilot' has ended" in result.stdout
    assert "agreement.expired: Agreement 'dwp-ho-interview-pilot' expired" in result.stdout
    assert "nothing is sent to the provider and nothing is released" in result.stdout


def test_a_prohibited_purpose_is_denied_with_the_agreements_reason(tmp_path: Path) -> None:
    request = write(tmp_path, "nationality.json", json.dumps(NATIONALITY))

    result = policy("explain", "--policies", SHIPPED, request, "--format", "json")

    explanation = json.loads(result.stdout)
    assert explanation["outcome"] == "DENIED"
    assert [r["code"] for r in explanation["reasons"]] == ["purpose.prohibited"]
    assert "nationality and country of birth" in explanation["reasons"][0]["message"]
    assert explanation["at"] == "2026-01-05T09:30:00+00:00"
    assert explanation["policy_version"] == load_compiled(SHIPPED).version


def test_an_approval_names_the_fields_sent_and_released_but_never_values(tmp_path: Path) -> None:
    request = write(tmp_path, "census.yaml", CENSUS)

    result = policy("explain", "--policies", SHIPPED, request, "--at", "2026-01-05T10:00:00")

    assert "outcome: APPROVED_MINIMISED" in result.stdout
    assert "query fields sent to the provider: date_of_birth, surname, upn" in result.stdout
    assert "query fields removed: nationality" in result.stdout
    assert "response fields released: home_address, school_name" in result.stdout
    for value in ("A123456789012", "Smith", "Ruritanian", "2012-01-01"):
        assert value not in result.stdout


def test_a_request_from_another_department_is_denied_as_a_spoof(tmp_path: Path) -> None:
    request = write(tmp_path, "census.yaml", CENSUS)

    result = policy("explain", "--policies", SHIPPED, request, "--sender", "dfe")

    assert "identity.requester_mismatch" in result.stdout
    assert "query fields sent to the provider" not in result.stdout
    assert "nothing is sent to the provider and nothing is released" in result.stdout


def test_a_denial_in_json_lists_no_fields_sent_or_released(tmp_path: Path) -> None:
    request = write(tmp_path, "census.yaml", CENSUS)

    result = policy(
        "explain", "--policies", SHIPPED, request, "--sender", "dfe", "--format", "json"
    )

    explained = json.loads(result.stdout)
    assert explained["allowed"] is False
    assert explained["query_fields"] == explained["response_fields"] == []


def test_the_shipped_example_requests_explain_as_their_names_say() -> None:
    examples = SHIPPED.parent / "examples"
    at = ("--at", "2026-06-01T09:00:00Z")

    approved = policy("explain", "--policies", SHIPPED, examples / "request-approved.yaml", *at)
    spoofed = policy(
        "explain", "--policies", SHIPPED, examples / "request-approved.yaml", "--sender", "ho", *at
    )
    prohibited = policy("explain", "--policies", SHIPPED, examples / "request-prohibited.yaml", *at)

    assert "outcome: APPROVED" in approved.stdout
    assert "identity.requester_mismatch" in spoofed.stdout
    assert "outcome: DENIED" in prohibited.stdout
    assert "purpose.prohibited" in prohibited.stdout


def test_the_sender_defaults_to_the_requester_and_the_time_to_sent_at() -> None:
    request = ExchangeRequest(
        request_id="r1",
        requester="rtw",
        provider="ho",
        agreement_id="rtw-ho-status-check",
        purpose="right-to-work",
        query={"person_id": "x"},
        sent_at=datetime(2026, 1, 5, tzinfo=UTC),
    )

    explanation = explain_request(load_compiled(SHIPPED), request)

    assert explanation.allowed
    assert explanation.response_fields == ("conditions.right_to_work",)
    assert (explanation.sender, explanation.at) == ("rtw", request.sent_at)


def test_request_files_may_list_query_names_alone_and_leave_out_id_and_time(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path, "names.yaml", PILOT.replace("{nino: QQ123456C, surname: Smith}", "[nino]")
    )
    at = datetime(2026, 1, 5, 10, tzinfo=UTC)

    request = read_request_file(path, at=at)

    assert (request.request_id, request.sent_at, request.query) == ("explain", at, {"nino": "x"})


def test_a_directory_that_does_not_load_stops_with_the_policy_exit_status(tmp_path: Path) -> None:
    request = write(tmp_path, "pilot.yaml", PILOT)
    broken = tmp_path / "policies"
    broken.mkdir()
    write(broken, "bad.yaml", "id: [not, text]\n")

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "policy",
            "explain",
            "--policies",
            str(broken),
            str(request),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 3
    assert "bad.yaml:1" in result.stderr
    assert "Traceback" not in result.stderr


def test_caps_are_taken_as_not_reached_and_transforms_are_named(policy_dir: PolicyDir) -> None:
    directory = policy_dir()
    edit(
        directory / "ho-hmrc-shared-houses.yaml",
        "      - properties[].address.postcode\n",
        "      - path: properties[].address.postcode\n        transform: generalise\n",
    )
    edit(
        directory / "ho-hmrc-shared-houses.yaml",
        "      - employments[].employer_name\n",
        "      - employments[].employer_name\n    caps: {per_day: 10}\n",
    )
    request = ExchangeRequest(
        request_id="r1",
        requester="ho",
        provider="hmrc",
        agreement_id="ho-hmrc-shared-houses",
        purpose="identify-shared-houses",
        query={"nino": "x"},
        sent_at=datetime(2026, 1, 5, tzinfo=UTC),
    )

    explanation = explain_request(load_compiled(directory), request)

    assert explanation.outcome == "APPROVED"
    assert explanation.transformed_fields == ("properties[].address.postcode: generalise",)
    assert "released in reduced form: properties[].address.postcode: generalise" in (
        explanation.lines()
    )


LAST_DAY = "2026-12-03"
CRAFTED_REQUEST = """\
requester: ho
provider: dfe
agreement_id: crafted-agreement
purpose: locate
query: [upn]
"""


def test_at_is_the_instant_in_utc_whatever_offset_it_is_written_with(
    tmp_path: Path, policy_dir: PolicyDir
) -> None:
    """2026-12-04T00:30+01:00 is 2026-12-03T23:30Z: still the agreement's last (UTC) day."""
    directory = policy_dir(shipped=False, files={"crafted.yaml": crafted(valid_until=LAST_DAY)})
    request = write(tmp_path, "crafted.yaml", CRAFTED_REQUEST)

    results = [
        json.loads(
            policy(
                "explain", "--policies", directory, request, "--at", at, "--format", "json"
            ).stdout
        )
        for at in ("2026-12-04T00:30:00+01:00", "2026-12-03T23:30:00Z", "2026-12-03T23:30:00")
    ]

    assert [r["outcome"] for r in results] == ["APPROVED"] * 3
    assert {r["at"] for r in results} == {"2026-12-03T23:30:00+00:00"}


def test_validity_ends_at_midnight_utc_after_the_last_day(policy_dir: PolicyDir) -> None:
    directory = policy_dir(shipped=False, files={"crafted.yaml": crafted(valid_until=LAST_DAY)})
    compiled = load_compiled(directory)

    def outcome(at: datetime) -> str:
        request = ExchangeRequest(
            request_id="r1",
            requester="ho",
            provider="dfe",
            agreement_id="crafted-agreement",
            purpose="locate",
            query={"upn": "x"},
            sent_at=at,
        )
        return explain_request(compiled, request, at=at).outcome

    last = datetime(2026, 12, 3, 23, 59, 59, 999000, tzinfo=UTC)
    assert outcome(last) == "APPROVED"
    assert outcome(last + timedelta(milliseconds=1)) == "DENIED"
    # the same instants written in New York time decide the same way
    new_york = timezone(timedelta(hours=-5))
    assert outcome(last.astimezone(new_york)) == "APPROVED"
    assert outcome((last + timedelta(milliseconds=1)).astimezone(new_york)) == "DENIED"


def test_explain_decides_at_the_receive_time_not_the_sent_at(
    tmp_path: Path, policy_dir: PolicyDir
) -> None:
    """A request sent just before the last day ended but received just after is refused, by the
    gateway and by explain given the receive time (the audit record's ``at``)."""
    directory = policy_dir(shipped=False, files={"crafted.yaml": crafted(valid_until=LAST_DAY)})
    sent = CRAFTED_REQUEST + "sent_at: 2026-12-03T23:59:59Z\n"
    request = write(tmp_path, "crafted.yaml", sent)

    result = policy("explain", "--policies", directory, request, "--at", "2026-12-04T00:00:01Z")

    assert "outcome: DENIED" in result.stdout
    assert "agreement.expired" in result.stdout
    assert "received at 2026-12-04T00:00:01+00:00, UTC day 2026-12-04" in result.stdout


def test_a_sent_at_far_from_the_receive_time_is_denied_as_the_gateway_denies_it(
    tmp_path: Path, policy_dir: PolicyDir
) -> None:
    directory = policy_dir(shipped=False, files={"crafted.yaml": crafted()})
    request = write(tmp_path, "late.yaml", CRAFTED_REQUEST + "sent_at: 2026-12-01T09:00:00Z\n")

    stale = policy("explain", "--policies", directory, request, "--at", "2026-12-03T09:00:01Z")
    ahead = policy("explain", "--policies", directory, request, "--at", "2026-12-01T08:54:59Z")
    near = policy("explain", "--policies", directory, request, "--at", "2026-12-01T08:55:00Z")

    assert "request.sent_at_stale" in stale.stdout and "outcome: DENIED" in stale.stdout
    assert "request.sent_at_ahead" in ahead.stdout and "outcome: DENIED" in ahead.stdout
    assert "outcome: APPROVED" in near.stdout
