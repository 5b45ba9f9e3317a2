"""The console's overview and the gateway's /metrics, for the same traffic on the embedded broker:
an operator reads the same decisions, dead letters, lag and audit chain heads in both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from console_support import ConsoleFactory, signed_in
from metrics_support import STATUS, Running, running_gateway, send_traffic

from gateway.embedded.broker import EmbeddedBroker


@pytest.fixture
async def running(broker: EmbeddedBroker) -> AsyncIterator[Running]:
    async with running_gateway(broker) as gateway:
        yield gateway


class _Overview(HTMLParser):
    """The figures the overview page shows, read from its HTML as a reader sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.decisions: dict[tuple[str | None, str], int] = {}
        """(agreement, outcome) -> the last hour's count; None for the ``(input)`` row."""
        self.heads: dict[int, int | None] = {}
        """Audit partition -> its head sequence (None: shown as a dash, empty)."""
        self.dead_letter_codes: set[str] = set()
        self.figures: dict[str, str] = {}
        """Summary figures by element id (and ``lag:<group>``)."""
        self._section: str | None = None
        self._agreement: str | None = None
        self._outcome: str | None = None
        self._cells: list[str] | None = None
        self._spans: list[str | None] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self._section = a.get("id")
        elif tag == "tr":
            self._agreement, self._cells = a.get("data-agreement"), []
        elif tag == "td" and self._cells is not None:
            self._outcome = a.get("data-outcome")
            self._cells.append("")
        elif tag == "span":
            group = a.get("data-lag-group")
            self._spans.append(f"lag:{group}" if group else a.get("id") or a.get("class"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._spans:
            self._spans.pop()
        elif tag == "tr" and self._cells:
            cells = [c.strip() for c in self._cells]
            if self._section == "audit":
                self.heads[int(cells[0])] = int(cells[2]) if cells[2].isdigit() else None
            elif self._section == "dead-letters":
                self.dead_letter_codes.add(cells[2])
            self._cells = None

    def handle_data(self, data: str) -> None:
        if self._cells:
            self._cells[-1] += data
        span = self._spans[-1] if self._spans else None
        if span == "hour" and self._agreement and self._outcome:
            agreement = None if self._agreement == "(input)" else self._agreement
            self.decisions[agreement, self._outcome] = int(data)
        elif span is not None and self._section == "summary" and data.strip():
            self.figures[span] = data.strip()


async def _snapshot_after(client: httpx.AsyncClient, moment: datetime) -> dict[str, Any]:
    """The console's snapshot (``/api/snapshot``) once it was taken after ``moment``."""
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        body = (await client.get("/api/snapshot")).json()
        snapshot = body["snapshot"]
        if snapshot and datetime.fromisoformat(snapshot["taken_at"]) > moment:
            return dict(snapshot)
        assert asyncio.get_running_loop().time() < deadline, f"no fresh snapshot: {body}"
        await asyncio.sleep(0.1)


async def test_the_console_overview_shows_what_the_metrics_count_for_the_same_traffic(
    running: Running, bootstrap: str, console_factory: ConsoleFactory
) -> None:
    """Decisions per agreement and outcome, the dead-letter count and codes, lag and each audit
    chain's head: the operator's overview page (and its ``/api/snapshot``) say what /metrics
    says, and the chains show as intact."""
    group = f"{running.topics.prefix}-gateway"
    base = await console_factory(bootstrap=bootstrap, prefix=running.topics.prefix, groups=[group])
    await send_traffic(bootstrap, running.topics)
    scraped = await running.quiet(records_in=4 + 4 + 5 + 3)
    scraped_at = datetime.now(UTC)
    async with signed_in(base, "olive") as operator:
        snapshot = await _snapshot_after(operator, scraped_at)
        page = await operator.get("/")
    assert page.status_code == 200
    shown = _Overview(page.text)

    by_metrics = Running.decisions(scraped)
    assert by_metrics[STATUS[0], "DENIED"] == 5
    assert by_metrics[None, "DEAD_LETTERED"] == 3
    assert shown.decisions == by_metrics
    served = {(d["agreement_id"], d["outcome"]): d["last_hour"] for d in snapshot["decisions"]}
    assert served == by_metrics

    dead = scraped["dx_gateway_dead_letters_total"]
    assert int(shown.figures["dead-total"]) == snapshot["dead_letters"]["total"] == 3
    assert sum(dead.values()) == 3
    assert shown.dead_letter_codes == {dict(k)["reason"] for k in dead}

    lag = sum(scraped["dx_gateway_consumer_lag_records"].values())
    assert int(shown.figures[f"lag:{group}"]) == snapshot["lag"][group] == lag == 0

    next_sequences = {p: seq for p, seq in Running.next_sequences(scraped).items() if seq}
    assert next_sequences
    assert {p: seq + 1 for p, seq in shown.heads.items() if seq is not None} == next_sequences
    served_heads = {a["partition"]: a["head_sequence"] for a in snapshot["audit"]}
    assert served_heads == shown.heads
    assert shown.figures["audit-status"] == "intact"
    assert snapshot["audit_ok"] is True
