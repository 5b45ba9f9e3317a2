"""``gateway status`` as an operator runs it, against a running gateway on the embedded broker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

from factories_support import ClientFactory, ProviderFactory

from gateway.departments import answer_from_dataset, index_records
from gateway.synthetic.datasets import generate
from gateway.transport.runner import GatewayRunner
from gateway.transport.topics import TopicNames

HO_PEOPLE = generate("ho", 6)
HO = index_records(HO_PEOPLE, "person_id")


async def gateway_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def send_traffic(department: ClientFactory, provider: ProviderFactory) -> None:
    """Four approved right-to-work checks and two refused ones (a purpose not agreed)."""
    await provider("ho", answer_from_dataset(HO, "person_id"))
    rtw = await department("rtw")

    async def check(person: dict[str, Any], purpose: str) -> None:
        query = {"person_id": person["person_id"], "date_of_birth": str(person["date_of_birth"])}
        await rtw.request("ho", "rtw-ho-status-check", purpose, query)

    await asyncio.gather(*(check(p, "right-to-work") for p in HO_PEOPLE[:4]))
    await asyncio.gather(*(check(p, "immigration-enforcement") for p in HO_PEOPLE[4:6]))


async def status_json(bootstrap: str, topics: TopicNames) -> dict[str, Any]:
    """The status of the module's gateway once its lag is zero (it commits after each batch)."""
    group = f"{topics.prefix}-gateway"
    for _ in range(50):
        code, out, err = await gateway_cli(
            "status", "--bootstrap", bootstrap, "--prefix", topics.prefix, "--group", group,
            "--format", "json",
        )  # fmt: skip
        assert code == 0, err
        document: dict[str, Any] = json.loads(out)
        if document["lag"][group] == 0:
            return document
        await asyncio.sleep(0.2)
    raise AssertionError(f"lag never reached 0: {document['lag']}")


async def test_status_json_counts_the_decisions_sent_per_agreement_and_shows_no_lag(
    bootstrap: str,
    topics: TopicNames,
    gateway: GatewayRunner,
    department: ClientFactory,
    provider: ProviderFactory,
) -> None:
    await send_traffic(department, provider)

    document = await status_json(bootstrap, topics)

    counts = {
        d["outcome"]: d["last_minute"]
        for d in document["decisions"]
        if d["agreement_id"] == "rtw-ho-status-check"
    }
    assert counts.get("APPROVED", 0) + counts.get("APPROVED_MINIMISED", 0) == 4
    assert counts["DENIED"] == 2
    assert counts.get("RELEASED", 0) + counts.get("REDACTED", 0) == 4
    assert document["lag"] == {f"{topics.prefix}-gateway": 0}
    assert {r["code"] for r in document["reasons"]} == {"purpose.not_allowed"}
    assert document["audit_ok"] is True
    assert sum(a["end"] for a in document["audit"]) >= 10


async def test_the_status_table_fits_80_columns_and_names_every_agreement_that_was_used(
    bootstrap: str,
    topics: TopicNames,
    gateway: GatewayRunner,
    department: ClientFactory,
    provider: ProviderFactory,
) -> None:
    await send_traffic(department, provider)
    await status_json(bootstrap, topics)

    code, out, err = await gateway_cli(
        "status", "--bootstrap", bootstrap, "--prefix", topics.prefix,
        "--group", f"{topics.prefix}-gateway",
        env={"COLUMNS": "80"},
    )  # fmt: skip

    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "rtw-ho-status-check" in out
    assert "purpose.not_allowed" in out
    assert "Audit chains" in out and "Input lag" in out


async def test_status_watch_prints_a_fresh_snapshot_every_interval_until_interrupted(
    bootstrap: str, topics: TopicNames, gateway: GatewayRunner
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "status", "--bootstrap", bootstrap,
        "--prefix", topics.prefix, "--format", "json", "--watch", "--interval", "0.3",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    stamps = []
    for _ in range(3):
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        stamps.append(json.loads(line)["taken_at"])
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), 30)

    assert len(set(stamps)) == 3 and stamps == sorted(stamps)
    assert process.returncode == 0
    assert b"Traceback" not in err


async def test_an_unreachable_broker_is_one_line_and_a_non_zero_exit() -> None:
    code, out, err = await gateway_cli("status", "--bootstrap", "127.0.0.1:1")

    assert code == 4
    assert err.splitlines() == [
        "error [transport_error]: cannot reach Kafka at 127.0.0.1:1: no broker answered"
    ]
    assert out == ""
