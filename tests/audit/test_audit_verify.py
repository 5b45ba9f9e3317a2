"""Verification finds every kind of tampering with an exported audit log, and names the message."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from audit_factories import CODEC, NOW, ChainFactory, LogFactory, record_fields
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.chain import ChainHead, is_checkpoint
from gateway.audit.checkpoint import CheckpointSigner
from gateway.audit.files import ExportedMessage, write_checkpoints, write_export
from gateway.audit.verify import VerifyReport, verify_export, verify_messages
from gateway.envelope.models import AuditCheckpoint

Log = list[ExportedMessage]


def verify(log: Log, signer: CheckpointSigner, **options: object) -> VerifyReport:
    return verify_messages(log, signer.public_key, **options)  # type: ignore[arg-type]


def renumbered(log: Log) -> Log:
    """The messages at consecutive offsets again, as if the file had always been this way."""
    counters: dict[int, int] = {}
    out = []
    for m in log:
        offset = counters.get(m.partition, 0)
        counters[m.partition] = offset + 1
        out.append(ExportedMessage(m.partition, offset, m.value))
    return out


def only_problem(report: VerifyReport) -> str:
    assert not report.ok
    (problem,) = report.problems
    return str(problem)


def checkpoint_positions(log: Log) -> list[int]:
    return [i for i, m in enumerate(log) if is_checkpoint(CODEC, m.value)]


# --- an intact log ----------------------------------------------------------------------------


def test_an_intact_log_verifies_with_every_checkpoint_counted(
    log_factory: LogFactory, signer: CheckpointSigner
) -> None:
    log = log_factory(records=30, partitions=3, checkpoint_every=4)

    report = verify(log, signer, partitions=3)

    assert report.ok, report.problems
    assert report.messages == len(log)
    assert report.checkpoints == 6  # two per partition of ten records
    assert [p.partition for p in report.partitions] == [0, 1, 2]
    assert [p.last_sequence for p in report.partitions] == [11, 11, 11]
    assert report.partitions[0].unsigned == 2
    assert report.describe()[-1].startswith("INTACT")


def test_an_intact_log_with_an_unsigned_tail_warns_how_many_records_each_partition_lacks(
    log_factory: LogFactory, signer: CheckpointSigner
) -> None:
    log = log_factory(records=22, partitions=2, checkpoint_every=4)  # 11 records a partition

    lines = verify(log, signer, partitions=2).describe()

    assert lines[-1].startswith("INTACT")
    assert lines[-3:-1] == [
        f"WARNING partition {p}: 3 record(s) after the last signed checkpoint (sequence 9) "
        "are not covered by a signature yet: cutting them off would not show without a later "
        "checkpoint"
        for p in (0, 1)
    ]


def test_a_log_without_any_unsigned_record_gives_no_warning(
    log_factory: LogFactory, signer: CheckpointSigner
) -> None:
    log = log_factory(records=16, partitions=2, checkpoint_every=4)

    lines = verify(log, signer, partitions=2).describe()

    assert lines[-1].startswith("INTACT")
    assert not [line for line in lines if "WARNING" in line]


def test_an_export_file_verifies_like_the_messages_it_holds(
    log_factory: LogFactory, signer: CheckpointSigner, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    write_export(path, "dx.audit", 2, log_factory(records=20, partitions=2))

    report = verify_export(path, signer.public_key)

    assert report.ok and report.topic == "dx.audit" and report.messages == 24


# --- tampering, one kind at a time ------------------------------------------------------------


def test_a_modified_byte_names_the_modified_record(
    log_factory: LogFactory, signer: CheckpointSigner
) -> None:
    log = log_factory(records=10, checkpoint_every=100)
    data = bytearray(log[4].value)
    data[-5] ^= 0x01  # somewhere in the body, not the link
    log[4] = replace(log[4], value=bytes(data))

    problem = only_problem(verify(log, signer))

    assert problem.startswith("partition 0, sequence 4 (offset 4): message was modified")


def test_a_modified_byte_in_the_exported_file_is_found_too(
    log_factory: LogFactory, signer: CheckpointSigner, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    write_export(path, "dx.audit", 1, log_factory(records=6))
    lines = path.read_text().splitlines()
    value_start = lines[3].index('"value":"') + len('"value":"') + 120
    changed = "A" if lines[3][value_start] != "A" else "B"
    lines[3] = lines[3][:value_start] + changed + lines[3][value_start + 1 :]
    path.write_text("\n".join(lines) + "\n")

    report = verify_export(path, signer.public_key)

    assert "sequence 2 (offset 2): message was modified" in only_problem(report)


def test_a_partition_deleted_from_an_export_fails_naming_it_though_the_rest_is_signed(
    log_factory: LogFactory, signer: CheckpointSigner, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    write_export(path, "dx.audit", 3, log_factory(records=24, partitions=3))  # all signed
    header, *lines = path.read_text().splitlines()
    kept = [line for line in lines if not line.startswith('{"partition":1,')]
    path.write_text("\n".join([header, *kept]) + "\n")
    assert len(kept) == 2 * len(lines) // 3

    report = verify_export(path, signer.public_key, max_unsigned=0)

    assert only_problem(report) == (
        "partition 1: no messages, but the export declares 3 partitions: this partition's "
        "records were deleted, or none was ever written to it"
    )
    assert "BROKEN partition 1: no messages" in "\n".join(report.describe())


def test_a_saved_checkpoint_of_a_partition_the_export_lacks_fails_naming_it(
    log_factory: LogFactory, signer: CheckpointSigner, tmp_path: Path
) -> None:
    log = log_factory(records=24, partitions=3)
    saved_path = tmp_path / "checkpoints.json"
    write_checkpoints(saved_path, "dx.audit", [m for m in log if m.partition == 2][-1:])
    path = tmp_path / "audit.jsonl"  # exported as if the topic had only ever had two partitions
    write_export(path, "dx.audit", 2, [m for m in log if m.partition != 2])

    report = verify_export(path, signer.public_key, checkpoint=saved_path)

    assert [p.partition for p in report.partitions] == [0, 1, 2]
    assert only_problem(report) == (
        "partition 2: the log is empty, but a checkpoint saved earlier certifies sequence 9: "
        "the log was truncated since"
    )


def test_a_deleted_record_is_reported_as_missing(
    log_factory: LogFactory, signer: CheckpointSigner
) -> None:
    log = log_factory(records=10, checkpoint_every=100)
    del log[5]

    problem = only_problem(verify(renumbered(log), signer))

    assert problem == (
        "partition 0, sequence 6 (offset 5): sequence jumps from 4 to 6: 1 message(s) missing "
        "(deleted) or out of order"
    )


def test_an_inserted_copy_of_a_record_is_reported(
    log_factory: LogFactory, signer: CheckpointSigner
) -> None:
    log = log_factory(records=10, checkpoint_every=100)
    log.insert(6, log[2])

    problem = only_problem(verify(renumbered(log), signer))

    assert problem.startswith("partition 0, sequence 2 (offset 6): sequence 2 follows 5")
    assert "inserted" in problem


def test_an_inserted_record_linked_to_its_predecessor_shows_at_the_next_one(
    log_factory: LogFactory, chain_factory: ChainFactory, signer: CheckpointSigner
) -> None:
    log = log_factory(records=10, checkpoint_every=100)
    forger = chain_factory()
    forger.set_head(0, ChainHead.after(log[4].value))
    log.insert(5, ExportedMessage(0, 0, forger.seal(0, **record_fields(99))))

    problem = only_problem(verify(renumbered(log), signer))

    assert problem.startswith("partition 0, sequence 5 (offset 6): sequence 5 follows 5")


def test_two_swapped_records_are_reported_as_out_of_order(
    log_factory: LogFactory, signer: CheckpointSigner
) -> None:
    log = log_factory(records=10, checkpoint_every=100)
    log[3], log[4] = log[4], log[3]

    problem = only_problem(verify(renumbered(log), signer))

    assert problem.startswith("partition 0, sequence 4 (offset 3): sequence jumps from 2 to 4")
    assert "out of order" in problem


def test_records_removed_before_a_checkpoint_kept_in_the_log_are_found(
    log_factory: LogFactory, signer: CheckpointSigner
) -> None:
    log = log_factory(records=8, checkpoint_every=4)
    last_checkpoint = checkpoint_positions(log)[-1]
    del log[last_checkpoint - 2 : last_checkpoint]

    problem = only_problem(verify(renumbered(log), signer))

    assert "checkpoint" not in problem and "2 message(s) missing" in problem


def test_a_tail_truncated_after_a_saved_checkpoint_is_found(
    log_factory: LogFactory, signer: CheckpointSigner
) -> None:
    log = log_factory(records=12, checkpoint_every=4)
    saved = log[checkpoint_positions(log)[-1]]  # sequence 14
    truncated = log[: checkpoint_positions(log)[1] + 2]  # ends at sequence 10

    problem = only_problem(verify(truncated, signer, checkpoint={0: saved}))

    assert problem == (
        "partition 0, sequence 10 (offset 10): the log ends at sequence 10, but a checkpoint "
        "saved earlier certifies sequence 14: the log was truncated since"
    )
    assert verify(log, signer, checkpoint={0: saved}).ok


def test_an_earlier_saved_checkpoint_finds_a_log_rewritten_since(
    log_factory: LogFactory, chain_factory: ChainFactory, signer: CheckpointSigner, tmp_path: Path
) -> None:
    original = log_factory(records=8, checkpoint_every=4)
    saved_path = tmp_path / "checkpoints.json"
    write_checkpoints(saved_path, "dx.audit", [original[checkpoint_positions(original)[0]]])
    # Someone with the signing key replaces record 2 and re-chains everything after it.
    forger = chain_factory(checkpoint_every=4)
    forger.set_head(0, ChainHead.after(original[1].value))
    rewritten = original[:2]
    for n in range(2, 8):
        rewritten.append(ExportedMessage(0, 0, forger.seal(0, **record_fields(n, purpose="x"))))
        if forger.checkpoint_due(0):
            rewritten.append(ExportedMessage(0, 0, forger.checkpoint(0, NOW)))

    assert verify(renumbered(rewritten), signer).ok  # consistent on its own...
    problem = only_problem(verify(renumbered(rewritten), signer, checkpoint=saved_path))

    assert problem.startswith("partition 0, sequence 4 (offset 4): differs from the checkpoint")
    assert "rewritten" in problem


def test_a_log_re_chained_without_the_key_has_no_valid_checkpoint_and_fails_a_limit(
    log_factory: LogFactory, chain_factory: ChainFactory, signer: CheckpointSigner
) -> None:
    unsigned = log_factory(records=9, checkpoint_every=4, signer=None)

    problem = only_problem(verify(unsigned, signer, max_unsigned=5))

    assert "9 message(s) after the last valid checkpoint, more than the 5 allowed" in problem
    assert verify(log_factory(records=9, checkpoint_every=4), signer, max_unsigned=5).ok


def test_a_checkpoint_signed_with_another_key_is_rejected(
    log_factory: LogFactory, signer: CheckpointSigner
) -> None:
    other = CheckpointSigner(Ed25519PrivateKey.generate())
    log = log_factory(records=5, checkpoint_every=4, signer=other)

    problem = only_problem(verify(log, signer))

    assert problem.startswith("partition 0, sequence 4 (offset 4): checkpoint is signed with key")
    assert other.key_id in problem and signer.key_id in problem


def test_a_forged_checkpoint_signature_is_rejected(
    chain_factory: ChainFactory, signer: CheckpointSigner
) -> None:
    chain = chain_factory()
    log = [ExportedMessage(0, n, chain.seal(0, **record_fields(n))) for n in range(3)]
    genuine = CODEC.decode(chain.checkpoint(0, NOW), AuditCheckpoint)
    forged = CODEC.encode(genuine.model_copy(update={"signature": bytes(64)}))
    log.append(ExportedMessage(0, 3, forged))
    chain.set_head(0, ChainHead.after(forged))
    log.append(ExportedMessage(0, 4, chain.seal(0, **record_fields(3))))

    problem = only_problem(verify(log, signer))

    assert problem == (
        "partition 0, sequence 3 (offset 3): checkpoint signature does not verify: the "
        "checkpoint was forged or altered"
    )


def test_a_checkpoint_moved_to_another_partitions_chain_is_rejected(
    chain_factory: ChainFactory, signer: CheckpointSigner
) -> None:
    chain = chain_factory()
    chain.seal(1, **record_fields(0))
    chain.set_head(0, ChainHead.genesis(0))
    moved = CODEC.decode(chain.checkpoint(1, NOW), AuditCheckpoint).model_copy(
        update={"prev_hash": ChainHead.genesis(0).hash, "sequence": 0}
    )

    problem = only_problem(verify([ExportedMessage(0, 0, CODEC.encode(moved))], signer))

    assert "checkpoint is for partition 1: it was moved here" in problem


# --- what is not a chain ----------------------------------------------------------------------


def test_a_log_whose_start_retention_removed_verifies_only_when_allowed(
    log_factory: LogFactory, signer: CheckpointSigner
) -> None:
    log = renumbered(log_factory(records=12, checkpoint_every=4)[5:])

    assert "the first 5 message(s) are missing" in only_problem(verify(log, signer))
    report = verify(log, signer, allow_missing_start=True)
    assert report.ok
    assert report.partitions[0].notes == ("chain starts at sequence 5: earlier ones are gone",)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (b"not avro", "not an audit record or checkpoint"),
        (b"", "not an audit record or checkpoint"),
        (CODEC.registry.get("dx.gateway.Reply").header + b"\x80\x01", "not an audit record"),
    ],
    ids=["junk", "empty", "another-schema"],
)
def test_a_message_that_is_not_an_audit_message_is_reported(
    signer: CheckpointSigner, value: bytes, problem: str
) -> None:
    assert problem in only_problem(verify([ExportedMessage(0, 0, value)], signer))


def test_records_written_with_the_chain_switched_off_are_reported_as_unchained(
    chain_factory: ChainFactory, signer: CheckpointSigner
) -> None:
    chain = chain_factory(chained=False)

    problem = only_problem(
        verify([ExportedMessage(0, 0, chain.seal(0, **record_fields(0)))], signer)
    )

    assert "written with the audit chain switched off" in problem
