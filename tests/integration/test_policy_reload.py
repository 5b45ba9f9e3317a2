"""A running gateway picks up a changed policy directory without a restart."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import pytest

from gateway.policy import AgreementStatus
from gateway.service import running_gateway
from gateway.settings import GatewaySettings
from gateway.transport.broker import EmbeddedBroker
from gateway.transport.topics import TopicNames

pytestmark = pytest.mark.kafka

SHIPPED = Path(__file__).resolve().parents[2] / "policies"


async def test_an_edited_agreement_reaches_the_running_processor(
    broker: EmbeddedBroker, tmp_path: Path
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
