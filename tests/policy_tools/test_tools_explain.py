"""gateway policy explain: one request's decision, every reason, and the field names it moves."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from policy_tools_support import SHIPPED, PolicyDir, edit, policy

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
    assert "response fields released: none" in result.stdout


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
