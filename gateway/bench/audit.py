"""How fast audit chains verify, and what sealing costs: ``python -m gateway.bench.audit``.

Builds ``--records`` synthetic audit records (typical decision size, ``--partitions`` chains,
a signed checkpoint every 1000) and reports:

- plain encoding (the model and its Avro bytes, as with ``GATEWAY_AUDIT_CHAIN=false``) against
  sealing (the same plus the chain link, its SHA-256, and the checkpoints), per record;
- verification speed in records/s, from memory and from an export file.

The gateway's end-to-end throughput with the chain on and off is ``gateway bench``'s business:
run it with ``GATEWAY_AUDIT_CHAIN=false`` for the comparison.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.audit.chain import AuditChain
from gateway.audit.checkpoint import CheckpointSigner
from gateway.audit.files import ExportedMessage, write_export
from gateway.audit.verify import VerifyReport, verify_export, verify_messages
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditOutcome, AuditStage, Reason

__all__ = ["BenchResult", "main", "run_bench"]


@dataclass(frozen=True, slots=True)
class BenchResult:
    records: int
    messages: int
    """Records plus checkpoints."""
    message_bytes: int
    encode_us: float
    """Plain encoding of one record (model and Avro bytes), as with the chain switched off."""
    link_us: float
    """What sealing adds to one record: the chain link and the SHA-256 of the message."""
    checkpoint_us: float
    """One signed checkpoint (Ed25519 signature and encoding)."""
    verify_memory_per_s: float
    verify_file_per_s: float

    @property
    def seal_us(self) -> float:
        """Sealing one record, its share of the checkpoints included."""
        share = self.checkpoint_us * (self.messages - self.records) / self.records
        return self.encode_us + self.link_us + share

    def describe(self) -> list[str]:
        overhead = self.seal_us - self.encode_us
        return [
            f"{self.records} records, {self.messages} messages with checkpoints, "
            f"{self.message_bytes / self.messages:.0f} bytes each on average",
            f"plain encode   {self.encode_us:7.1f} us/record  (chain off)",
            f"seal           {self.seal_us:7.1f} us/record  (+{overhead:.1f} us, "
            f"{overhead / self.encode_us:+.0%}: link and SHA-256 {self.link_us:.1f} us, "
            f"checkpoints {self.checkpoint_us:.0f} us each)",
            f"verify memory  {self.verify_memory_per_s:9,.0f} messages/s",
            f"verify file    {self.verify_file_per_s:9,.0f} messages/s (JSON lines export)",
        ]


def run_bench(records: int = 200_000, partitions: int = 4) -> BenchResult:
    """Measure on ``records`` synthetic records spread over ``partitions`` chains.

    Each record is encoded plainly and sealed back to back, and the medians count (of each
    time, and of the differences), so other work on the machine distorts the comparison little.
    Verification runs three times and the fastest counts.
    """
    codec = Codec.default()
    now = datetime.now(UTC)
    plain = AuditChain(codec, instance_id="bench", chained=False)
    signer = _signer()
    chain = AuditChain(codec, instance_id="bench", signer=signer)
    messages: list[ExportedMessage] = []
    offsets = [0] * partitions
    encode_ns, link_ns, checkpoint_ns = [], [], []
    clock = time.perf_counter_ns
    for i in range(records):
        partition, fields = i % partitions, _fields(uuid.uuid4().hex, i, now)
        if i % 2:  # alternate which goes first, so warm caches favour neither
            t0 = clock()
            plain.seal(partition, **fields)
            t1 = clock()
            sealed = [chain.seal(partition, **fields)]
            t2 = clock()
            plain_ns, seal_ns = t1 - t0, t2 - t1
        else:
            t0 = clock()
            sealed = [chain.seal(partition, **fields)]
            t1 = clock()
            plain.seal(partition, **fields)
            t2 = clock()
            plain_ns, seal_ns = t2 - t1, t1 - t0
        encode_ns.append(plain_ns)
        link_ns.append(seal_ns - plain_ns)
        if chain.checkpoint_due(partition):
            t3 = clock()
            sealed.append(chain.checkpoint(partition, now))
            checkpoint_ns.append(clock() - t3)
        for value in sealed:
            messages.append(ExportedMessage(partition, offsets[partition], value))
            offsets[partition] += 1

    memory_s = min(
        _timed(lambda: verify_messages(messages, signer.public_key, partitions=partitions))
        for _ in range(3)
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.jsonl"
        ordered = sorted(messages, key=lambda m: (m.partition, m.offset))
        write_export(path, "bench.audit", partitions, ordered)
        file_s = min(_timed(lambda: verify_export(path, signer.public_key)) for _ in range(3))
    return BenchResult(
        records=records,
        messages=len(messages),
        message_bytes=sum(len(m.value) for m in messages),
        encode_us=statistics.median(encode_ns) / 1000,
        link_us=statistics.median(link_ns) / 1000,
        checkpoint_us=statistics.median(checkpoint_ns) / 1000 if checkpoint_ns else 0.0,
        verify_memory_per_s=len(messages) / memory_s,
        verify_file_per_s=len(messages) / file_s,
    )


def _timed(verify: Callable[[], VerifyReport]) -> float:
    """Seconds one verification takes; it must find the chain intact."""
    began = time.perf_counter()
    report = verify()
    elapsed = time.perf_counter() - began
    if not report.ok:
        raise AssertionError(f"synthetic chain does not verify: {report.problems[0]}")
    return elapsed


def _signer() -> CheckpointSigner:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return CheckpointSigner(Ed25519PrivateKey.generate())  # a throwaway key, no dev-key warning


def _fields(decision_id: str, i: int, now: datetime) -> dict[str, Any]:
    """A typical approved request's audit record."""
    return dict(
        decision_id=decision_id,
        request_id=f"req-{i:012d}",
        stage=AuditStage.REQUEST,
        at=now,
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-status-check",
        purpose="overseas-visitor-charging",
        outcome=AuditOutcome.APPROVED_MINIMISED,
        reasons=[_REASON],
        fields_requested=["conditions", "immigration_status", "leave_expiry"],
        fields_released=["person_id", "surname"],
        fields_withheld=["nhs_number"],
        subject_key="5f0c2a9d8e7b6a5f4c3d2e1f0a9b8c7d",
        policy_version="2026-01-01.7",
        input_topic="dx.requests.nhs",
        input_partition=i % 4,
        input_offset=i,
        gateway_instance="bench",
    )


_REASON = Reason(code="agreement.allows", message="nhs-ho-status-check allows this purpose")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.bench.audit", description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args(argv)
    for line in run_bench(args.records, args.partitions).describe():
        print(line)


if __name__ == "__main__":
    main()
