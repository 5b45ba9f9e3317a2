"""A short reliability campaign on three Kafka nodes: gateway processes killed with SIGKILL three
times, a broker killed and restarted, a member added and removed, and still every request is
answered exactly once, as the policy says, with every audit chain intact."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from gateway.chaos import CampaignOptions, run_campaign
from gateway.cluster import KafkaCluster


async def test_a_short_campaign_loses_nothing_answers_once_and_right_and_keeps_the_chains(
    three_nodes: KafkaCluster, tmp_path: Path
) -> None:
    report = await run_campaign(
        CampaignOptions(
            exchanges=600, rate=40, seed=11, gateways=2, cluster=three_nodes, work_dir=tmp_path
        )
    )

    kinds = Counter(fault.kind for fault in report.faults)
    assert kinds["gateway_killed"] >= 3
    assert kinds["gateway_started"] == kinds["gateway_killed"]
    assert kinds["broker_killed"] == kinds["broker_restarted"] == 1
    assert kinds["member_added"] == kinds["member_removed"] == 1
    result = (report.sent, report.answered, report.lost, report.duplicated, report.wrong)
    assert result == (600, 600, 0, 0, 0), report.examples
    assert report.unaudited == 0, report.examples
    assert report.audit_chain_valid, report.audit_problems
    assert report.decisions >= report.sent
    assert "unexpected_exits" not in report.examples, report.examples
