"""The console served by uvicorn on loopback, a gateway on the embedded broker to watch, an audit
store filled by the real indexer, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from console_support import CHROMIUM, CHROMIUM_ARGS, PASSWORDS, SCREENSHOTS, ConsoleFactory

from gateway.audit_store import open_store
from gateway.console.app import ConsoleConfig, create_app
from gateway.console.users import Users, hash_password, load_users
from gateway.departments import DepartmentClient
from gateway.embedded.broker import EmbeddedBroker
from gateway.testing import fresh_topics, gateway_runner
from gateway.transport.audit_indexer import index_audit_topic
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames


@pytest.fixture(scope="session")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("console") / "users.yaml"
    lines = ["users:"]
    for name, role in (("olive", "operator"), ("carla", "compliance")):
        hashed = hash_password(PASSWORDS[name])
        lines.append(f"  - {{name: {name}, role: {role}, password_hash: '{hashed}'}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def users(users_file: Path) -> Users:
    return load_users(users_file)


async def serve(config: ConsoleConfig) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """The console on a free loopback port: (server, its task, base URL)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config), log_level="warning", timeout_graceful_shutdown=1, lifespan="on"
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return server, task, f"http://127.0.0.1:{port}"


@pytest.fixture
async def console_factory(users: Users) -> AsyncIterator[ConsoleFactory]:
    """``await make(**config)``: a console serving until the test ends; returns its base URL."""
    running: list[tuple[uvicorn.Server, asyncio.Task[None], str]] = []

    async def make(**options: Any) -> str:
        options.setdefault("users", users)
        options.setdefault("secret", "test-console-secret")
        options.setdefault("refresh_s", 0.5)
        served = await serve(ConsoleConfig(**options))
        running.append(served)
        return served[2]

    yield make
    for server, task, _ in running:
        server.should_exit = True
        await task


# --- a gateway with traffic, and its audit store -----------------------------------------------


@pytest.fixture(scope="module")
async def topics(broker: EmbeddedBroker) -> TopicNames:
    """One partition per topic: the few requests these tests send then fill every audit
    partition, and ``gateway audit verify`` fails a declared partition that holds nothing."""
    return fresh_topics(broker, partitions=1)


@pytest.fixture(scope="module")
async def gateway(bootstrap: str, topics: TopicNames) -> AsyncIterator[GatewayRunner]:
    runner = gateway_runner(bootstrap, topics)
    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))
    await runner.wait_assigned()
    yield runner
    stop.set()
    await task
    await runner.stop()


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'audit.db'}"


@pytest.fixture
def index(bootstrap: str, topics: TopicNames, store_url: str) -> Callable[[], Awaitable[int]]:
    """``await index()``: the real indexer reads the audit topic into the store, up to its end."""

    async def run() -> int:
        store = open_store(store_url)
        try:
            await index_audit_topic(store, bootstrap=bootstrap, topics=topics, once=True)
            return store.count()
        finally:
            store.close()

    return run


@pytest.fixture
async def department(
    bootstrap: str, topics: TopicNames, gateway: GatewayRunner
) -> AsyncIterator[Callable[[str], Awaitable[DepartmentClient]]]:
    async with AsyncExitStack() as stack:

        async def make(dept: str) -> DepartmentClient:
            return await stack.enter_async_context(DepartmentClient(dept, bootstrap, topics=topics))

        yield make


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.fail(f"{CHROMIUM} is missing: run `make test-deps` (tools/test-deps/chromium.sh)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium_path: Path) -> AsyncIterator[Any]:
    """Debian's chromium, headless; Playwright never downloads a browser here."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser context (no cookies) and page per test."""
    context = await browser.new_context(viewport={"width": 1200, "height": 860})
    context.set_default_timeout(15_000)
    opened = await context.new_page()
    yield opened
    await context.close()


@pytest.fixture
def screenshot() -> Iterator[Callable[[Any, str], Awaitable[None]]]:
    async def take(page: Any, name: str) -> None:
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    yield take
