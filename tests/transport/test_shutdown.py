"""Shutdown is bounded: with the broker gone, leaving a running gateway takes at most the
configured time, says what it could not write, and leaves no client unclosed."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Iterator

import pytest
from aiokafka import AIOKafkaProducer

from gateway.embedded.broker import EmbeddedBroker, start_gateway_broker
from gateway.service import running_gateway
from gateway.settings import DEFAULT_DEPARTMENTS, GatewaySettings
from gateway.transport.topics import TopicNames

SHUTDOWN_S = 3.0


@pytest.fixture
def own_broker() -> Iterator[EmbeddedBroker]:
    """A broker of this test's own, since the test takes it down."""
    broker = start_gateway_broker(TopicNames(), DEFAULT_DEPARTMENTS, partitions=2)
    yield broker
    broker.stop()


async def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _leave_with_broker_down(broker: EmbeddedBroker, *, dead_letter_first: bool) -> float:
    settings = GatewaySettings(
        bootstrap=broker.bootstrap, shutdown_timeout_seconds=SHUTDOWN_S, policy_reload_seconds=0
    )
    stop = asyncio.Event()
    async with asyncio.timeout(SHUTDOWN_S + 20):  # fails the test instead of hanging it
        async with running_gateway(settings, stop) as gw:
            await gw.runner.wait_assigned()
            if dead_letter_first:  # leaves an audit record for the final checkpoint to sign
                producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
                await producer.start()
                await producer.send_and_wait(TopicNames().requests("dfe"), b"junk", key=b"k")
                await producer.stop()
                await _until(lambda: gw.runner.stats.batches > 0)
            broker.set_broker_down()
            await asyncio.sleep(0.5)
            began = time.monotonic()
    took = time.monotonic() - began
    gc.collect()  # an unclosed client warns when collected; warnings are errors here
    return took


async def test_shutdown_with_the_broker_down_is_bounded_and_names_the_unsigned_chains(
    own_broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """The final checkpoint cannot be acknowledged: shutdown still ends within the configured
    time (plus a little for closing), and the log names the audit partition left unsigned."""
    with caplog.at_level(logging.INFO, logger="gateway"):
        took = await _leave_with_broker_down(own_broker, dead_letter_first=True)
    assert took < SHUTDOWN_S + 1.5
    assert any(
        "final audit checkpoints not written for partitions 0 (1 records)" in r.getMessage()
        for r in caplog.records
    ), [r.getMessage() for r in caplog.records if r.name.startswith("gateway")]


async def test_shutdown_with_nothing_to_checkpoint_raises_no_cancellation(
    own_broker: EmbeddedBroker,
) -> None:
    """With the broker down and nothing to write, shutdown ends promptly: no CancelledError
    escapes from aiokafka's consumer and every client is closed."""
    took = await _leave_with_broker_down(own_broker, dead_letter_first=False)
    assert took < SHUTDOWN_S + 1.5
