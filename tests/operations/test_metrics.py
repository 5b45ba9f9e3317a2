"""A running gateway's /metrics, /healthz and /readyz on the embedded broker: the counters follow
the traffic, agree with ``gateway status``, and carry no unbounded label values."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from metrics_support import STATUS, Running, running_gateway, send_traffic
from prometheus_client.parser import text_string_to_metric_families

from gateway.departments import DepartmentClient
from gateway.embedded.broker import EmbeddedBroker
from gateway.operations.metrics import METRIC_NAMES
from gateway.operations.reader import take_snapshot
from gateway.testing import until


@pytest.fixture
async def running(broker: EmbeddedBroker) -> AsyncIterator[Running]:
    async with running_gateway(broker) as gateway:
        yield gateway


async def test_status_and_metrics_show_the_same_figures_for_the_same_traffic(
    running: Running, bootstrap: str
) -> None:
    """Decisions per agreement and outcome, dead letters, audit chain heads and lag: what
    ``gateway status`` reads from the topics is what the gateway's own counters say."""
    await send_traffic(bootstrap, running.topics)
    scraped = await running.quiet(records_in=4 + 4 + 5 + 3)
    group = f"{running.topics.prefix}-gateway"
    snapshot = await take_snapshot(bootstrap, prefix=running.topics.prefix, groups=[group])

    by_status = {(d.agreement_id, d.outcome): d.last_hour for d in snapshot.decisions}
    assert by_status == Running.decisions(scraped)
    assert by_status[STATUS[0], "DENIED"] == 5
    assert by_status[None, "DEAD_LETTERED"] == 3

    dead = scraped["dx_gateway_dead_letters_total"]
    assert snapshot.dead_letters.total == sum(dead.values()) == 3
    assert {dict(k)["reason"] for k in dead} == {n.error_code for n in snapshot.dead_letters.latest}

    status_heads = {a.partition: a.head_sequence for a in snapshot.audit}
    assert {p: seq + 1 for p, seq in status_heads.items() if seq is not None} == {
        p: seq for p, seq in Running.next_sequences(scraped).items() if seq
    }

    lag = scraped["dx_gateway_consumer_lag_records"]
    assert lag
    status_lag = {(p.topic, p.partition): p.lag(group) for p in snapshot.inputs}
    for labels, value in lag.items():
        label = dict(labels)
        assert status_lag[label["topic"], int(label["partition"])] == int(value) == 0


async def test_counters_follow_the_traffic_and_no_label_names_a_request_or_subject(
    running: Running, bootstrap: str
) -> None:
    """Records in and out per topic, fields released, stage timings and batch sizes count; no
    label value is a request id, and every exported family is a documented one."""
    request_ids = await send_traffic(bootstrap, running.topics, junk=1)
    await until(lambda: running.runner.stats.records_in >= 4 + 4 + 5 + 1)
    await asyncio.sleep(0.3)
    text = (await running.get("/metrics")).text
    scraped = await running.scrape()

    topics = running.topics
    records_in = {dict(k)["topic"]: v for k, v in scraped["dx_gateway_records_in_total"].items()}
    assert records_in[topics.requests("nhs")] == 9
    assert records_in[topics.responses("ho")] == 4
    records_out = {dict(k)["topic"]: v for k, v in scraped["dx_gateway_records_out_total"].items()}
    assert records_out[topics.replies("nhs")] == 9
    assert records_out[topics.inbox("ho")] == 4
    assert records_out[topics.deadletter] == 1
    released = {
        dict(k)["action"]: v
        for k, v in scraped["dx_gateway_response_fields_total"].items()
        if dict(k)["agreement"] == STATUS[0]
    }
    assert released["released"] >= 4
    assert scraped["dx_gateway_batch_size_records_count"][()] >= 1
    timed = {
        dict(k)["stage"]
        for k, count in scraped["dx_gateway_stage_duration_seconds_count"].items()
        if count
    }
    if running.runner.stats.transactions:  # Apache Kafka: one transaction per batch and lane
        assert timed == {"process", "transaction"}
    else:
        assert timed == {"process", "audit_write", "produce", "commit"}
    assert scraped["dx_gateway_audit_log_unavailable"][()] == 0
    assert dict(next(iter(scraped["dx_gateway_policy_info"])))["version"]

    for request_id in request_ids:
        assert request_id not in text
    families = {f.name for f in text_string_to_metric_families(text)}
    ours = {n for n in families if n.startswith("dx_gateway")}
    counters = {n + "_total" for n in ours if n + "_total" in METRIC_NAMES}
    assert (ours - {n[: -len("_total")] for n in counters}) | counters == METRIC_NAMES


async def test_an_unknown_agreement_is_labelled_unknown_not_by_what_was_sent(
    running: Running, bootstrap: str
) -> None:
    """A request naming an agreement that does not exist: its id (which anyone can vary without
    bound) never becomes a label value."""
    made_up = f"no-such-agreement-{uuid.uuid4().hex[:8]}"
    async with DepartmentClient("nhs", bootstrap, topics=running.topics) as nhs:
        await nhs.request("ho", made_up, "overseas-visitor-charging", {"person_id": "HO-1"})
    await until(lambda: running.runner.stats.records_in >= 1)
    await asyncio.sleep(0.2)
    text = (await running.get("/metrics")).text
    assert made_up not in text
    assert 'agreement="unknown"' in text


async def test_health_and_readiness_answer_in_json(running: Running) -> None:
    """/healthz says alive; /readyz is ready while partitions are owned, the audit log is
    writable and Kafka answers; anything else is 404."""
    alive = await running.get("/healthz")
    assert alive.status_code == 200 and alive.json() == {"alive": True}
    ready = await running.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["partitions_assigned"] > 0
    assert checks["policy_version"] == running.runner.processor.policy.version
    assert (await running.get("/nothing")).status_code == 404


async def test_readiness_fails_and_the_gauge_is_set_while_the_audit_log_is_unavailable(
    broker: EmbeddedBroker,
) -> None:
    """While the audit topic refuses writes, /readyz is 503 naming that check and
    ``dx_gateway_audit_log_unavailable`` is 1; both recover with the audit log."""
    async with running_gateway(broker, audit_blocked=True) as running:
        try:
            producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
            await producer.start()
            await producer.send_and_wait(running.topics.requests("dfe"), b"junk", key=b"k")
            await producer.stop()
            await until(lambda: running.runner.stats.audit_paused)
            paused = await running.get("/readyz")
            scraped = await running.scrape()
        finally:
            broker.allow_writes(running.topics.audit)
        await until(lambda: not running.runner.stats.audit_paused)
        recovered = await running.get("/readyz")
    assert paused.status_code == 503
    assert paused.json()["ready"] is False
    assert paused.json()["checks"]["audit_log_writable"] is False
    assert scraped["dx_gateway_audit_log_unavailable"][()] == 1
    assert recovered.status_code == 200


async def test_every_dead_letter_is_logged_with_code_and_coordinates_but_no_value(
    running: Running, bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Including input that is not even Avro: one WARNING line per dead letter, naming its
    error code and input coordinates, and none of the bytes it held."""
    secret_value = b"payload-with-9990001234"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    with caplog.at_level(logging.WARNING, logger="gateway.audit"):
        try:
            await producer.send_and_wait(running.topics.requests("dfe"), secret_value, key=b"k")
        finally:
            await producer.stop()
        await until(lambda: running.runner.stats.records_in >= 1)
    lines = [r.getMessage() for r in caplog.records if "dead letter" in r.getMessage()]
    assert len(lines) == 1
    assert f"[undecodable] {running.topics.requests('dfe')}[" in lines[0]
    assert "9990001234" not in lines[0]
