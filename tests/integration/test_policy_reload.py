"""A running gateway picks up a changed policy directory without a restart."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from gateway.departments import DepartmentClient
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditOutcome, AuditRecord, AuditStage
from gateway.errors import DecodeError
from gateway.policy import AgreementStatus
from gateway.service import running_gateway
from gateway.settings import GatewaySettings
from gateway.testing import BrokerUnderTest
from gateway.transport.topics import TopicNames

pytestmark = pytest.mark.kafka

SHIPPED = Path(__file__).resolve().parents[2] / "policies"


async def test_an_edited_agreement_reaches_the_running_processor(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(SHIPPED, policies)
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings = GatewaySettings(
        bootstrap=broker.bootstrap,
        topic_prefix=prefix,
        policies_dir=policies,
        policy_reload_seconds=0.05,
        group_id=f"{prefix}-gateway",
    )
    broker.create_topics(TopicNames(prefix).all_topics(list(settings.departments)), 1)
    stop = asyncio.Event()
    async with running_gateway(settings, stop) as gateway:
        processor = gateway.runner.processor
        assert gateway.policies is not None
        swapped = asyncio.Event()
        gateway.policies.subscribe(lambda change: swapped.set())
        path = policies / "rtw-ho-status-check.yaml"
        path.write_text(path.read_text().replace("status: active", "status: suspended"))
        async with asyncio.timeout(10):
            await swapped.wait()
        agreement = processor.policy.agreement("rtw-ho-status-check")
        assert agreement is not None and agreement.status is AgreementStatus.SUSPENDED
        assert gateway.policies.policy is processor.policy


async def _policy_records(bootstrap: str, topics: TopicNames, count: int) -> list[AuditRecord]:
    """The POLICY-stage audit records on ``topics.audit``, once there are ``count`` of them."""
    codec = Codec.default()
    consumer = AIOKafkaConsumer(
        topics.audit, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[AuditRecord] = []
    try:
        async with asyncio.timeout(15):
            while len(found) < count:
                batch = await consumer.getmany(timeout_ms=100)
                for record in (r for rs in batch.values() for r in rs):
                    try:
                        audit = codec.decode(record.value, AuditRecord)
                    except DecodeError:
                        continue  # a signed checkpoint
                    if audit.stage is AuditStage.POLICY:
                        found.append(audit)
    finally:
        await consumer.stop()
    return found


async def test_every_policy_change_applied_or_rejected_is_written_to_the_audit_log(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(SHIPPED, policies)
    prefix = f"t{uuid.uuid4().hex[:10]}"
    topics = TopicNames(prefix)
    settings = GatewaySettings(
        bootstrap=broker.bootstrap,
        topic_prefix=prefix,
        policies_dir=policies,
        policy_reload_seconds=0.05,
        group_id=f"{prefix}-gateway",
    )
    broker.create_topics(topics.all_topics(list(settings.departments)), 1)
    stop = asyncio.Event()
    async with (
        running_gateway(settings, stop) as gateway,
        DepartmentClient("rtw", broker.bootstrap, topics=topics) as rtw,
    ):
        old_version = gateway.runner.processor.policy.version
        first = await rtw.request("ho", "rtw-ho-status-check", "marketing", {"person_id": "x"})
        assert first.policy_version == old_version

        path = policies / "rtw-ho-status-check.yaml"
        path.write_text(path.read_text().replace("status: active", "status: suspended"))
        (applied,) = await _policy_records(broker.bootstrap, topics, 1)
        (policies / "broken.yaml").write_text("id: [unclosed\n")
        _, refused = await _policy_records(broker.bootstrap, topics, 2)

    assert applied.outcome is AuditOutcome.POLICY_APPLIED
    assert applied.policy_version != old_version
    codes = [r.code for r in applied.reasons]
    assert codes[0] == "policy.changed" and "policy.agreement_changed" in codes
    assert any("rtw-ho-status-check" in r.message for r in applied.reasons)
    assert refused.outcome is AuditOutcome.POLICY_REJECTED
    assert refused.policy_version == applied.policy_version  # the valid set stayed in force
    assert any("broken.yaml" in r.message for r in refused.reasons)
