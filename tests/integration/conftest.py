"""A running gateway on Apache Kafka (or the embedded broker), with its own topics, and department
clients."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from factories_support import ClientFactory, ProviderFactory

from gateway.departments import Answer, DepartmentClient, Handler
from gateway.testing import BrokerUnderTest, fresh_topics, gateway_runner
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames


@pytest.fixture(scope="session")
def broker(integration_broker: BrokerUnderTest) -> BrokerUnderTest:
    """These tests run on Apache Kafka (see ``integration_broker`` in tests/conftest.py)."""
    return integration_broker


@pytest.fixture(scope="session")
def bootstrap(integration_broker: BrokerUnderTest) -> str:
    return integration_broker.bootstrap


@pytest.fixture(scope="module")
async def topics(broker: BrokerUnderTest) -> TopicNames:
    return fresh_topics(broker)


@pytest.fixture(scope="module")
async def gateway(bootstrap: str, topics: TopicNames) -> AsyncIterator[GatewayRunner]:
    """One gateway instance processing the module's topics for the module's tests."""
    runner = gateway_runner(bootstrap, topics)
    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))
    await runner.wait_assigned()
    yield runner
    stop.set()
    await task
    await runner.stop()


@pytest.fixture
async def department(
    bootstrap: str, topics: TopicNames, gateway: GatewayRunner
) -> AsyncIterator[ClientFactory]:
    """``await department("nhs")``: a started client for that department, stopped afterwards."""
    async with AsyncExitStack() as stack:

        async def make(dept: str) -> DepartmentClient:
            return await stack.enter_async_context(DepartmentClient(dept, bootstrap, topics=topics))

        yield make


@pytest.fixture
async def provider(department: ClientFactory) -> AsyncIterator[ProviderFactory]:
    """``seen = await provider("ho", handler)``: serve that inbox; ``seen`` collects each
    routed request the provider received."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[int]] = []

    async def make(dept: str, handler: Handler) -> list[Any]:
        client = await department(dept)
        seen: list[Any] = []

        def recording(routed: object) -> Answer | Awaitable[Answer]:
            seen.append(routed)
            return handler(routed)  # type: ignore[arg-type]

        # A fresh group per test: the embedded broker is slow to forget a member that left.
        group = f"{client.topics.prefix}.{dept}.{uuid.uuid4().hex[:6]}"
        tasks.append(asyncio.create_task(client.serve(recording, group_id=group, stop=stop)))
        return seen

    yield make
    stop.set()
    await asyncio.gather(*tasks)
