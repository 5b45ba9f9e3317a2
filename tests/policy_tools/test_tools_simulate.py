"""gateway policy simulate: recorded decisions replayed under a candidate policy."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from policy_tools_support import (
    SHIPPED,
    AuditFactory,
    PolicyDir,
    edit,
    policy,
    write_audit_export,
    write_plain,
)

from gateway.embedded.broker import EmbeddedBroker
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditRecord, Reason
from gateway.policy.tools import AuditFile, load_compiled, simulate
from gateway.transport.topics import TopicNames


@pytest.fixture
def recorded(audit_record: AuditFactory) -> list[AuditRecord]:
    """A small audit log: four request decisions, the reply to the first and a duplicate."""
    allows = [Reason(code="agreement.allows", message="allowed")]
    return [
        audit_record(
            "rtw-ho-status-check",
            "right-to-rent",
            "APPROVED",
            fields_released=["date_of_birth", "person_id"],
            fields_requested=["conditions.right_to_rent"],
        ),
        audit_record(
            "rtw-ho-status-check",
            "right-to-work",
            "APPROVED",
            fields_released=["person_id"],
            fields_requested=["conditions.right_to_work"],
        ),
        audit_record(
            "ho-dfe-school-census",
            "locate-immigration-offender",
            "APPROVED_MINIMISED",
            requester="ho",
            provider="dfe",
            fields_released=["upn"],
            fields_withheld=["nationality"],
            fields_requested=["home_address", "school_name", "school_urn"],
            reasons=[*allows, Reason(code="request.minimised", message="removed")],
        ),
        audit_record(
            "dwp-ho-interview-pilot",
            "arrange-interview",
            "DENIED",
            requester="ho",
            provider="dwp",
            reasons=[
                Reason(code="agreement.status", message="ended"),
                Reason(code="agreement.expired", message="expired"),
            ],
        ),
        audit_record(
            "rtw-ho-status-check",
            "right-to-rent",
            "RELEASED",
            stage="RESPONSE",
            request_id="request-1",
            fields_released=["conditions.right_to_rent"],
        ),
        audit_record("rtw-ho-status-check", "right-to-rent", "DUPLICATE", reasons=[]),
    ]


def without_right_to_rent(policy_dir: PolicyDir) -> Path:
    directory = policy_dir("candidate")
    rtw = directory / "rtw-ho-status-check.yaml"
    rtw.write_text(rtw.read_text().split("  - id: right-to-rent")[0], encoding="utf-8")
    return directory


def test_nothing_changes_when_the_policy_does_not(
    tmp_path: Path, recorded: list[AuditRecord]
) -> None:
    audit = write_plain(tmp_path / "audit.jsonl", recorded)

    result = policy("simulate", "--policies", SHIPPED, "--from", audit, "--format", "text")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"replayed 4 recorded request decisions (of 6 audit records) under policy "
        f"{load_compiled(SHIPPED).version}: 0 would change; "
        "2 approvals have no recorded reply to compare fields with"
    ]


def test_removing_a_purpose_reports_the_decisions_it_changes_per_agreement_and_purpose(
    tmp_path: Path, recorded: list[AuditRecord], policy_dir: PolicyDir
) -> None:
    audit = write_plain(tmp_path / "audit.jsonl", recorded)
    candidate = without_right_to_rent(policy_dir)

    result = policy(
        "simulate", "--policies", candidate, "--from", audit, "--format", "json", "--details"
    )

    report = json.loads(result.stdout)
    assert report["changed"] == 1
    (group,) = report["groups"]
    assert group["outcomes"] == "APPROVED -> DENIED: 1"
    assert group["fields"] == {
        "withheld": {"conditions.right_to_rent": 1},
        "unsent": {"date_of_birth": 1, "person_id": 1},
    }
    assert (group["agreement_id"], group["purpose"]) == ("rtw-ho-status-check", "right-to-rent")
    (change,) = group["changes"]
    assert (change["request_id"], change["before"], change["after"]) == (
        "request-1",
        "APPROVED",
        "DENIED",
    )
    assert [r["code"] for r in change["reasons"]] == ["purpose.not_allowed"]
    assert change["fields"]["withheld"] == ["conditions.right_to_rent"]


def test_an_audit_export_is_read_from_its_exact_bytes_skipping_checkpoints(
    tmp_path: Path, recorded: list[AuditRecord], policy_dir: PolicyDir
) -> None:
    export = write_audit_export(tmp_path / "export.jsonl", recorded)

    records = list(AuditFile(export))
    report = simulate(load_compiled(without_right_to_rent(policy_dir)), records)

    assert records == recorded
    assert (report.records, report.replayed, len(report.changes)) == (6, 4, 1)
    table = policy("simulate", "--policies", SHIPPED, "--from", export)
    assert "0 would change" in table.stdout


def test_reviving_an_ended_agreement_approves_its_denials_on_an_assumed_identifier(
    tmp_path: Path, recorded: list[AuditRecord], policy_dir: PolicyDir
) -> None:
    candidate = policy_dir("candidate")
    pilot = candidate / "dwp-ho-interview-pilot.yaml"
    edit(pilot, "status: ended", "status: active")
    edit(pilot, "valid_until: 2016-03-31", "valid_until: 2030-03-31")

    report = simulate(load_compiled(candidate), recorded)

    (change,) = report.changes
    assert (change.agreement_id, change.before, change.after) == (
        "dwp-ho-interview-pilot",
        "DENIED",
        "APPROVED",
    )
    assert change.query_assumed
    assert "(query fields assumed)" in "\n".join(report.lines(details=True))


def test_volume_caps_apply_in_recorded_time_order(
    audit_record: AuditFactory, policy_dir: PolicyDir
) -> None:
    candidate = policy_dir("candidate")
    edit(
        candidate / "rtw-ho-status-check.yaml",
        "    response_fields: [conditions.right_to_work]\n",
        "    response_fields: [conditions.right_to_work]\n    caps: {per_hour: 1}\n",
    )
    checks = [
        audit_record(
            "rtw-ho-status-check",
            "right-to-work",
            "APPROVED",
            fields_released=["person_id"],
            fields_requested=["conditions.right_to_work"],
        )
        for _ in range(3)
    ]

    report = simulate(load_compiled(candidate), reversed(checks))

    assert [c.request_id for c in report.changes] == ["request-2", "request-3"]
    assert {r.code for c in report.changes for r in c.reasons} == {"cap.hourly"}


@pytest.mark.kafka
def test_the_audit_topic_can_be_replayed_directly(
    broker: EmbeddedBroker, recorded: list[AuditRecord], policy_dir: PolicyDir
) -> None:
    topics = TopicNames(f"t{uuid.uuid4().hex[:10]}")
    broker.create_topics([topics.audit], 2)
    codec = Codec.default()

    async def publish() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await producer.start()
        try:
            for record in recorded:
                await producer.send_and_wait(topics.audit, codec.encode(record))
        finally:
            await producer.stop()

    asyncio.run(publish())
    candidate = without_right_to_rent(policy_dir)

    result = policy(
        "simulate",
        "--policies",
        candidate,
        "--bootstrap",
        broker.bootstrap,
        "--prefix",
        topics.prefix,
        "--format",
        "text",
    )

    assert result.exit_code == 0, result.output
    assert "(of 6 audit records)" in result.stdout
    assert "rtw-ho-status-check / right-to-rent: 1 would change (APPROVED -> DENIED: 1;" in (
        result.stdout
    )


def test_a_record_whose_names_make_no_valid_request_is_counted_not_replayed(
    audit_record: AuditFactory,
) -> None:
    odd = audit_record(
        "rtw-ho-status-check", "right-to-work", "APPROVED", fields_released=["Person ID"]
    )

    report = simulate(load_compiled(SHIPPED), [odd])

    assert (report.replayed, report.not_rebuilt, report.changes) == (0, 1, ())
    assert report.summary().endswith("1 could not be rebuilt")


@pytest.fixture
def census_lookups(audit_record: AuditFactory) -> list[AuditRecord]:
    """Two approved school-census lookups and their replies, which withheld the pupil's surname
    and nationality (the provider sent them; the purpose does not release them)."""
    records = []
    for _ in range(2):
        request = audit_record(
            "ho-dfe-school-census",
            "locate-immigration-offender",
            "APPROVED",
            requester="ho",
            provider="dfe",
            fields_released=["surname", "upn"],
        )
        reply = audit_record(
            "ho-dfe-school-census",
            "locate-immigration-offender",
            "REDACTED",
            stage="RESPONSE",
            requester="ho",
            provider="dfe",
            request_id=request.request_id,
            fields_released=["home_address.postcode", "school_name", "school_urn"],
            fields_withheld=["nationality", "surname", "year_group"],
        )
        records += [request, reply]
    return records


def test_a_candidate_that_releases_more_fields_changes_decisions_whose_outcome_stays(
    tmp_path: Path, census_lookups: list[AuditRecord], policy_dir: PolicyDir
) -> None:
    candidate = policy_dir("candidate")
    edit(
        candidate / "ho-dfe-school-census.yaml",
        "response_fields: [home_address, school_name, school_urn]",
        "response_fields: [home_address, nationality, school_name, school_urn, surname]",
    )
    audit = write_plain(tmp_path / "audit.jsonl", census_lookups)

    result = policy("simulate", "--policies", candidate, "--from", audit, "--format", "text")

    assert result.exit_code == 0, result.output
    summary, group, hint = result.stdout.splitlines()
    assert summary.endswith("2 would change (0 in outcome, 2 in fields only)")
    assert group == (
        "ho-dfe-school-census / locate-immigration-offender: 2 would change "
        "(newly releases nationality (2), surname (2))"
    )
    assert hint == "(--details lists the 2 decisions)"
    detailed = policy("simulate", "--policies", candidate, "--from", audit, "--details")
    assert detailed.stdout.count("APPROVED -> APPROVED") == 2


def test_transforms_and_withdrawn_fields_are_reported_per_decision(
    census_lookups: list[AuditRecord], policy_dir: PolicyDir
) -> None:
    candidate = policy_dir("candidate")
    edit(
        candidate / "ho-dfe-school-census.yaml",
        "    response_fields: [home_address, school_name, school_urn]",
        "    response_fields:\n      - home_address\n      - school_name\n"
        "      - {path: school_urn, transform: {truncate: 3}}",
    )
    edit(
        candidate / "ho-dfe-school-census.yaml",
        "request_fields: [upn, surname, forenames, date_of_birth]",
        "request_fields: [upn, forenames, date_of_birth]",
    )

    report = simulate(load_compiled(candidate), census_lookups)

    first = report.changes[0]
    assert (first.before, first.after) == ("APPROVED", "APPROVED_MINIMISED")
    assert first.fields() == {"transformed": ("school_urn:truncate",), "unsent": ("surname",)}
    (group,) = report.groups()
    assert group.field_counts() == {
        "transformed": {"school_urn:truncate": 2},
        "unsent": {"surname": 2},
    }
