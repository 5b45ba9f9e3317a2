"""How fast audit records are indexed into SQLite, measured without a broker.

Synthetic records like the gateway's (a mix of agreements, outcomes, reasons and field lists),
sealed into hash chains across four partitions exactly as the gateway seals them, are indexed
from memory in batches of the indexer's size: decoding, chain following, hashing and the SQLite
transaction are all inside the timing; encoding them, and starting the decoder process the
indexer reads records in (as ``gateway audit index`` runs it), are not.
``gateway audit index --bench --records 100000`` prints the result
(``cpu_seconds`` is the indexing process's own; the decoder process's is not in it).
"""

from __future__ import annotations

import gc
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.audit.chain import AuditChain
from gateway.audit.follow import ChainFollower
from gateway.audit_store import SqliteAuditStore
from gateway.audit_store.indexing import AuditIndexer, AuditMessage
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditOutcome, AuditStage, Reason

__all__ = ["run_bench", "synthetic_messages"]

_EXCHANGES = (
    ("nhs-ho-status-check", "overseas-visitor-charging", "nhs", "ho"),
    ("rtw-ho-status-check", "right-to-work", "rtw", "ho"),
    ("ho-dfe-school-census", "locate-immigration-offender", "ho", "dfe"),
    ("ho-hmrc-shared-houses", "identify-shared-houses", "ho", "hmrc"),
)
_OUTCOMES = (
    (AuditOutcome.APPROVED, "agreement.allows"),
    (AuditOutcome.APPROVED_MINIMISED, "request.minimised"),
    (AuditOutcome.DENIED, "purpose.not_allowed"),
    (AuditOutcome.RELEASED, "agreement.allows"),
    (AuditOutcome.REDACTED, "response.withheld"),
)


def synthetic_messages(
    count: int, *, partitions: int = 4, topic: str = "dx.audit", seed: int = 7
) -> list[AuditMessage]:
    """``count`` chained audit messages, spread round-robin over ``partitions``."""
    rng = random.Random(seed)
    codec = Codec.default()
    chain = AuditChain(codec, instance_id="bench")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    offsets = [0] * partitions
    messages = []
    for i in range(count):
        agreement, purpose, requester, provider = rng.choice(_EXCHANGES)
        outcome, code = rng.choice(_OUTCOMES)
        stage = AuditStage.RESPONSE if outcome in _RESPONSE_OUTCOMES else AuditStage.REQUEST
        partition = i % partitions
        value = chain.seal(
            partition,
            decision_id=f"{rng.getrandbits(128):032x}",
            request_id=f"{rng.getrandbits(64):016x}",
            stage=stage,
            at=start + timedelta(milliseconds=i * 20),
            requester=requester,
            provider=provider,
            agreement_id=agreement,
            purpose=purpose,
            outcome=outcome,
            reasons=[Reason(code=code, message=f"{agreement} {purpose}: {code}")],
            fields_requested=["immigration_status", "leave_expiry"],
            fields_released=["immigration_status"] if outcome is not AuditOutcome.DENIED else [],
            fields_withheld=["address.postcode"] if outcome is AuditOutcome.REDACTED else [],
            subject_key=f"{rng.getrandbits(128):032x}",
            policy_version="bench",
            input_topic=f"dx.requests.{requester}",
            input_partition=partition,
            input_offset=i,
            gateway_instance="bench",
        )
        messages.append(AuditMessage(topic, partition, offsets[partition], value))
        offsets[partition] += 1
    return messages


_RESPONSE_OUTCOMES = frozenset({AuditOutcome.RELEASED, AuditOutcome.REDACTED})


def run_bench(
    records: int = 100_000, *, batch: int = 2000, decoder_process: bool = True
) -> dict[str, Any]:
    """Index ``records`` synthetic records into a new SQLite file; the speed, and a check."""
    if records < 1:
        raise ValueError("records must be at least 1")
    messages = synthetic_messages(records)
    # A running indexer holds a batch or two, not the whole topic: keep this pile of messages
    # out of the garbage collector's way, as it would be, or its full passes over the pile
    # are what gets measured.
    gc.collect()
    gc.freeze()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteAuditStore(Path(tmp) / "bench.db")
        try:
            with AuditIndexer(
                store, chain=ChainFollower(), decoder_process=decoder_process
            ) as indexer:
                began, cpu_began = time.perf_counter(), time.process_time()
                for i in range(0, records, batch):
                    indexer.index(messages[i : i + batch])
                elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
            stored = store.count()
        finally:
            store.close()
            gc.unfreeze()
    return {
        "records": records,
        "batch": batch,
        "store": "SQLite file, WAL, synchronous=NORMAL, 8 KiB pages, 8 indexes",
        "decoder_process": decoder_process,
        "seconds": round(elapsed, 3),
        "records_per_s": round(records / elapsed),
        "cpu_seconds": round(cpu, 3),
        "stored": stored,
        "chain_breaks": indexer.stats.chain_breaks,
    }
