"""`gateway audit export | verify | checkpoint`: what an auditor runs, and the exit codes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from factories_support import ProducerFactory

from gateway.audit.chain import AuditChain
from gateway.audit.checkpoint import CheckpointSigner
from gateway.audit.files import ExportedMessage, write_export
from gateway.cli import main
from gateway.cli.audit import audit_group
from gateway.embedded.broker import EmbeddedBroker
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditOutcome, AuditStage
from gateway.testing import fresh_topics

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def signer() -> CheckpointSigner:
    return CheckpointSigner(Ed25519PrivateKey.generate())


@pytest.fixture
def public_key(signer: CheckpointSigner, tmp_path: Path) -> Path:
    path = tmp_path / "audit.pub"
    path.write_bytes(
        signer.public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return path


def sealed(
    signer: CheckpointSigner, records: int = 10, partitions: int = 2
) -> list[ExportedMessage]:
    chain = AuditChain(Codec.default(), instance_id="gw", signer=signer, checkpoint_every=3)
    logs: dict[int, list[bytes]] = {p: [] for p in range(partitions)}
    for n in range(records):
        partition = n % partitions
        logs[partition].append(
            chain.seal(
                partition,
                decision_id=f"d{n}",
                request_id=None,
                stage=AuditStage.INPUT,
                at=NOW,
                requester=None,
                provider=None,
                agreement_id=None,
                purpose=None,
                outcome=AuditOutcome.DEAD_LETTERED,
                reasons=[],
                policy_version="v1",
                input_topic="dx.requests.nhs",
                input_partition=partition,
                input_offset=n,
                gateway_instance="gw",
            )
        )
        if chain.checkpoint_due(partition):
            logs[partition].append(chain.checkpoint(partition, NOW))
    return [ExportedMessage(p, o, v) for p in logs for o, v in enumerate(logs[p])]


def gateway(*args: str) -> int:
    """Run the CLI in-process; its exit status."""
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_the_audit_group_is_importable_for_other_sub_commands() -> None:
    assert set(audit_group.commands) >= {"export", "verify", "checkpoint", "bench"}


def test_an_intact_export_verifies_with_exit_status_0(
    signer: CheckpointSigner, public_key: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_export(tmp_path / "a.jsonl", "dx.audit", 2, sealed(signer))

    status = gateway(
        "audit", "verify", "--file", str(tmp_path / "a.jsonl"), "--public-key", str(public_key)
    )

    assert status == 0
    assert "INTACT: 12 message(s), 2 checkpoint(s)" in capsys.readouterr().out


def test_a_tampered_export_fails_with_exit_status_1_naming_the_message(
    signer: CheckpointSigner, public_key: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messages = sealed(signer)
    del messages[2]  # partition 0, sequence 2
    write_export(tmp_path / "a.jsonl", "dx.audit", 2, messages)

    status = gateway(
        "audit", "verify", "--file", str(tmp_path / "a.jsonl"), "--public-key", str(public_key)
    )

    assert status == 1
    err = capsys.readouterr().err
    assert (
        "error [audit_chain_broken]: the audit log is broken: partition 0, sequence 3 (offset 3)"
        in err
    )
    assert "1 message(s) missing" in err


def test_an_export_missing_a_whole_partition_fails_with_exit_status_1_naming_it(
    signer: CheckpointSigner, public_key: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messages = sealed(signer, records=18, partitions=3)  # every record signed
    write_export(tmp_path / "a.jsonl", "dx.audit", 3, [m for m in messages if m.partition != 2])

    status = gateway(
        "audit",
        "verify",
        "--file",
        str(tmp_path / "a.jsonl"),
        "--public-key",
        str(public_key),
        "--max-unsigned",
        "0",
    )

    assert status == 1
    out, err = capsys.readouterr()
    assert "BROKEN partition 2: no messages, but the export declares 3 partitions" in out
    assert "the audit log is broken: partition 2: no messages" in err


def test_a_saved_checkpoint_of_a_partition_missing_from_the_export_fails_naming_it(
    signer: CheckpointSigner, public_key: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messages = sealed(signer, records=12, partitions=3)
    write_export(tmp_path / "full.jsonl", "dx.audit", 3, messages)
    write_export(tmp_path / "later.jsonl", "dx.audit", 2, [m for m in messages if m.partition < 2])
    cp = tmp_path / "cp.json"
    key = ("--public-key", str(public_key))

    saved = gateway(
        "audit", "checkpoint", "--file", str(tmp_path / "full.jsonl"), "--out", str(cp), *key
    )
    status = gateway(
        "audit", "verify", "--file", str(tmp_path / "later.jsonl"), "--checkpoint", str(cp), *key
    )

    assert (saved, status) == (0, 1)
    assert "the audit log is broken: partition 2: the log is empty, but a checkpoint" in (
        capsys.readouterr().err
    )


def test_an_unsigned_tail_is_reported_as_a_warning_with_exit_status_0(
    signer: CheckpointSigner, public_key: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_export(tmp_path / "a.jsonl", "dx.audit", 2, sealed(signer))  # 5 records a partition

    status = gateway(
        "audit", "verify", "--file", str(tmp_path / "a.jsonl"), "--public-key", str(public_key)
    )

    assert status == 0
    out = capsys.readouterr().out
    for partition in (0, 1):
        assert (
            f"WARNING partition {partition}: 2 record(s) after the last signed checkpoint "
            "(sequence 3) are not covered by a signature yet" in out
        )
    assert "INTACT" in out


def test_verify_needs_exactly_one_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert gateway("audit", "verify") == 2
    assert "exactly one of --audit-file and --bootstrap" in capsys.readouterr().err


def test_a_saved_checkpoint_catches_a_later_truncation(
    signer: CheckpointSigner, public_key: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messages = sealed(signer, records=12, partitions=1)
    write_export(tmp_path / "full.jsonl", "dx.audit", 1, messages)
    write_export(tmp_path / "cut.jsonl", "dx.audit", 1, messages[:5])

    saved = gateway(
        "audit",
        "checkpoint",
        "--file",
        str(tmp_path / "full.jsonl"),
        "--out",
        str(tmp_path / "cp.json"),
        "--public-key",
        str(public_key),
    )
    status = gateway(
        "audit",
        "verify",
        "--file",
        str(tmp_path / "cut.jsonl"),
        "--checkpoint",
        str(tmp_path / "cp.json"),
        "--public-key",
        str(public_key),
    )

    assert (saved, status) == (0, 1)
    assert json.loads((tmp_path / "cp.json").read_text())["checkpoints"][0]["partition"] == 0
    assert "the log was truncated since" in capsys.readouterr().err


async def test_export_and_verify_read_the_audit_topic(
    broker: EmbeddedBroker,
    bootstrap: str,
    producer_factory: ProducerFactory,
    signer: CheckpointSigner,
    public_key: Path,
    tmp_path: Path,
) -> None:
    topics = fresh_topics(broker, partitions=2)
    producer = await producer_factory()
    for m in sealed(signer):
        await producer.send_and_wait(topics.audit, m.value, partition=m.partition)
    export, cp = tmp_path / "audit.jsonl", tmp_path / "cp.json"

    exported = await asyncio.to_thread(
        gateway,
        "audit",
        "export",
        "--bootstrap",
        bootstrap,
        "--prefix",
        topics.prefix,
        "--out",
        str(export),
        "--checkpoint-out",
        str(cp),
    )
    from_file = await asyncio.to_thread(
        gateway,
        "audit",
        "verify",
        "--file",
        str(export),
        "--checkpoint",
        str(cp),
        "--public-key",
        str(public_key),
        "--max-unsigned",
        "3",
    )
    from_topic = await asyncio.to_thread(
        gateway,
        "audit",
        "verify",
        "--bootstrap",
        bootstrap,
        "--prefix",
        topics.prefix,
        "--public-key",
        str(public_key),
    )

    assert (exported, from_file, from_topic) == (0, 0, 0)
    assert len(export.read_text().splitlines()) == 1 + 12
