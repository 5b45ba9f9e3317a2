"""The console in a real browser (Debian's chromium, driven by Playwright) while real traffic
flows through a gateway on the embedded broker, with the audit store filled by the real indexer.

Every wait is on visible text, never a sleep. Screenshots of each page go to
``artifacts/screenshots/``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from console_support import PASSWORDS, ConsoleFactory

from gateway.departments import DepartmentClient, answer_from_dataset, index_records
from gateway.synthetic.datasets import generate
from gateway.transport.audit_log import export_audit
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

pytestmark = pytest.mark.browser

Department = Callable[[str], Awaitable[DepartmentClient]]
Screenshot = Callable[[Any, str], Awaitable[None]]
PEOPLE = generate("ho", 12)
HO = index_records(PEOPLE, "person_id")
SLOW_MS = 20_000
POLICIES = Path(__file__).resolve().parents[2] / "policies"


def expect(target: Any) -> Any:
    from playwright.async_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture
async def console(
    console_factory: ConsoleFactory,
    bootstrap: str,
    topics: TopicNames,
    gateway: GatewayRunner,
    store_url: str,
) -> str:
    """The console watching the module's gateway, reading the module's audit store."""
    return await console_factory(
        bootstrap=bootstrap,
        prefix=topics.prefix,
        groups=[f"{topics.prefix}-gateway"],
        audit_db=store_url,
        policies_dir=POLICIES,
    )


@pytest.fixture
async def serving_ho(department: Department) -> AsyncIterator[None]:
    """The Home Office answering its inbox from synthetic records until the test ends."""
    ho = await department("ho")
    stop = asyncio.Event()
    task = asyncio.create_task(
        ho.serve(answer_from_dataset(HO, "person_id"), group_id=f"{ho.topics.prefix}.ho", stop=stop)
    )
    yield
    stop.set()
    await task


async def sign_in(page: Any, base: str, name: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("User").fill(name)
    await page.get_by_label("Password").fill(PASSWORDS[name])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


async def rtw_check(rtw: DepartmentClient, person: dict[str, Any], purpose: str) -> None:
    query = {"person_id": person["person_id"], "date_of_birth": str(person["date_of_birth"])}
    await rtw.request("ho", "rtw-ho-status-check", purpose, query)


async def test_signed_in_the_overview_counts_decisions_live_as_traffic_flows(
    page: Any, console: str, department: Department, screenshot: Screenshot
) -> None:
    await page.goto(console)
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await screenshot(page, "login")
    await sign_in(page, console, "olive")
    await expect(page.locator("#connection")).to_have_text("live", timeout=SLOW_MS)
    await page.evaluate("window.notReloaded = true")
    nhs = await department("nhs")
    denied = page.locator(
        'tr[data-agreement="nhs-ho-status-check"] td[data-outcome="DENIED"] .minute'
    )

    async def refused(person: dict[str, Any]) -> None:
        query = {"person_id": person["person_id"], "surname": person["surname"]}
        await nhs.request("ho", "nhs-ho-status-check", "debt-collection", query)

    await asyncio.gather(*(refused(p) for p in PEOPLE[:3]))
    await expect(denied).to_have_text("3", timeout=SLOW_MS)
    await asyncio.gather(*(refused(p) for p in PEOPLE[3:5]))
    await expect(denied).to_have_text("5", timeout=SLOW_MS)

    assert await page.evaluate("window.notReloaded") is True
    await expect(page.locator("#reasons")).to_contain_text("purpose.not_allowed")
    await expect(page.locator("#audit-status")).to_have_text("intact")
    await expect(page.locator('tr[data-topic$=".requests.nhs"] td').last).to_have_text("0")
    await screenshot(page, "overview")


async def test_a_decision_indexed_from_the_audit_topic_is_found_with_its_reasons_and_fields(
    page: Any,
    console: str,
    department: Department,
    serving_ho: None,
    index: Callable[[], Awaitable[int]],
    screenshot: Screenshot,
) -> None:
    rtw = await department("rtw")
    await asyncio.gather(*(rtw_check(rtw, p, "right-to-work") for p in PEOPLE[5:7]))
    await rtw_check(rtw, PEOPLE[7], "immigration-enforcement")
    await index()
    await sign_in(page, console, "carla")

    await page.get_by_role("link", name="Decisions").click()
    await page.get_by_label("Agreement").fill("rtw-ho-status-check")
    await page.get_by_label("Outcome").select_option("DENIED")
    await page.get_by_role("button", name="Search").click()

    rows = page.locator("table.decisions tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("purpose.not_allowed")
    await expect(rows.first).to_contain_text("rtw → ho")
    await page.get_by_label("Outcome").select_option("")
    await page.get_by_role("button", name="Search").click()
    redacted = page.locator("table.decisions tbody tr", has_text="REDACTED").first
    await expect(redacted).to_contain_text("conditions.right_to_work")
    await expect(redacted.locator(".fields")).to_contain_text("withheld")
    await screenshot(page, "decisions")


async def test_a_subject_access_report_lists_who_asked_about_the_person(
    page: Any,
    console: str,
    department: Department,
    serving_ho: None,
    index: Callable[[], Awaitable[int]],
    screenshot: Screenshot,
) -> None:
    person = PEOPLE[8]
    rtw = await department("rtw")
    await rtw_check(rtw, person, "right-to-rent")
    await index()
    await sign_in(page, console, "carla")

    await page.get_by_role("link", name="Subject access").click()
    await page.get_by_label("Identifier").fill(f"person_id={person['person_id']}")
    await page.get_by_role("button", name="Report").click()

    await expect(page.locator("#subject-summary")).to_have_text("1 request(s) by: rtw.")
    await expect(page.locator("#report table")).to_contain_text("right-to-rent")
    await expect(page.locator("#report table")).to_contain_text("conditions.right_to_rent")
    assert person["person_id"] not in await page.content()
    await screenshot(page, "subject")


async def test_the_register_lists_every_agreement_with_its_use_and_warnings(
    page: Any, console: str, index: Callable[[], Awaitable[int]], screenshot: Screenshot
) -> None:
    await index()
    await sign_in(page, console, "carla")

    await page.get_by_role("link", name="Register").click()

    await expect(page.get_by_role("heading", name="Register of collaborations")).to_be_visible()
    await expect(page.locator("table.register tbody tr")).to_have_count(7)
    pilot = page.locator("#dwp-ho-interview-pilot")
    await expect(pilot).to_contain_text("not in force")
    await expect(page.locator("#rtw-ho-status-check .usage")).to_contain_text("requests")
    await screenshot(page, "register")


async def test_the_audit_log_and_an_uploaded_export_verify_and_a_cut_export_does_not(
    page: Any,
    console: str,
    bootstrap: str,
    topics: TopicNames,
    tmp_path: Path,
    screenshot: Screenshot,
) -> None:
    export = tmp_path / "audit.jsonl"
    await export_audit(bootstrap, topics, export)
    lines = export.read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join([lines[0], *lines[2:]]) + "\n")  # the first message removed
    await sign_in(page, console, "carla")
    await page.get_by_role("link", name="Audit integrity").click()

    await page.get_by_role("button", name="Verify the log").click()
    await expect(page.locator("#verdict h2")).to_have_text("INTACT")
    await page.get_by_label("Export file").set_input_files(str(cut))
    await page.get_by_role("button", name="Verify the file").click()
    await expect(page.locator("#verdict h2")).to_have_text("BROKEN")
    await expect(page.locator("#verdict")).to_contain_text("uploaded file cut.jsonl")
    await page.get_by_label("Export file").set_input_files(str(export))
    await page.get_by_role("button", name="Verify the file").click()
    await expect(page.locator("#verdict h2")).to_have_text("INTACT")
    await screenshot(page, "integrity")


async def test_an_operator_sees_403_on_a_subject_access_report(
    page: Any, console: str, screenshot: Screenshot
) -> None:
    await sign_in(page, console, "olive")

    await expect(page.get_by_role("link", name="Subject access")).to_have_count(0)
    response = await page.goto(f"{console}/subject")

    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", name="403 · Not allowed")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("for the compliance role")
    await screenshot(page, "forbidden")


async def test_a_form_sent_without_its_csrf_token_is_rejected(
    page: Any, console: str, screenshot: Screenshot
) -> None:
    await sign_in(page, console, "carla")
    await page.get_by_role("link", name="Subject access").click()
    await page.locator("form input[name=csrf_token]").last.evaluate("input => input.remove()")

    await page.get_by_label("Identifier").fill("person_id=HO-000001")
    await page.get_by_role("button", name="Report").click()

    await expect(page.get_by_role("heading", name="403 · Not allowed")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("the form has no security token")
    await screenshot(page, "csrf-refused")
