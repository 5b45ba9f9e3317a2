"""The audit hash chain: sealing, heads, checkpoints, and the link read from raw bytes."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from audit_factories import CODEC, NOW, ChainFactory, record_fields
from hypothesis import given
from hypothesis import strategies as st

from gateway.audit.chain import (
    UNCHAINED_SEQUENCE,
    ChainHead,
    genesis_hash,
    is_checkpoint,
    message_hash,
    read_link,
)
from gateway.audit.checkpoint import CheckpointSigner, checkpoint_problem
from gateway.audit.files import ExportedMessage
from gateway.audit.verify import verify_messages
from gateway.envelope.models import AuditCheckpoint, AuditRecord
from gateway.errors import ChainBrokenError


def test_the_first_record_of_a_partition_links_to_that_partitions_genesis_value(
    chain_factory: ChainFactory,
) -> None:
    chain = chain_factory()

    first = CODEC.decode(chain.seal(3, **record_fields(0)), AuditRecord)

    assert (first.prev_hash, first.sequence) == (genesis_hash(3), 0)
    assert genesis_hash(3) != genesis_hash(0)


def test_each_record_names_the_sha256_of_the_complete_bytes_before_it(
    chain_factory: ChainFactory,
) -> None:
    chain = chain_factory()

    sealed = [chain.seal(0, **record_fields(n)) for n in range(3)]

    records = [CODEC.decode(data, AuditRecord) for data in sealed]
    assert [r.sequence for r in records] == [0, 1, 2]
    assert records[1].prev_hash == hashlib.sha256(sealed[0]).hexdigest() == message_hash(sealed[0])
    assert records[2].prev_hash == message_hash(sealed[1])
    assert chain.head(0) == ChainHead(3, message_hash(sealed[2]))


def test_partitions_keep_separate_chains(chain_factory: ChainFactory) -> None:
    chain = chain_factory()

    chain.seal(0, **record_fields(0))
    on_one = CODEC.decode(chain.seal(1, **record_fields(1)), AuditRecord)

    assert (on_one.sequence, on_one.prev_hash) == (0, genesis_hash(1))
    assert chain.partitions == [0, 1]


def test_a_chain_continues_from_the_head_after_a_given_last_message(
    chain_factory: ChainFactory,
) -> None:
    earlier = chain_factory().seal(2, **record_fields(0))
    chain = chain_factory()

    chain.set_head(2, ChainHead.after(earlier))
    record = CODEC.decode(chain.seal(2, **record_fields(1)), AuditRecord)

    assert (record.sequence, record.prev_hash) == (1, message_hash(earlier))


def test_forgetting_a_head_starts_the_partition_again_only_when_set(
    chain_factory: ChainFactory,
) -> None:
    chain = chain_factory()
    chain.seal(0, **record_fields(0))

    chain.forget([0])

    assert not chain.has_head(0)
    assert chain.head(0) == ChainHead.genesis(0)


@given(st.integers(min_value=0, max_value=2**62))
def test_the_link_read_from_raw_bytes_is_the_one_the_record_carries(sequence: int) -> None:
    data = CODEC.encode(
        AuditRecord(prev_hash="ab" * 32, sequence=sequence, **record_fields(sequence % 1000))
    )

    assert read_link(data) == ("ab" * 32, sequence)
    assert ChainHead.after(data) == ChainHead(sequence + 1, message_hash(data))


def test_bytes_that_do_not_start_with_a_link_are_a_broken_chain() -> None:
    with pytest.raises(ChainBrokenError, match="chain link"):
        read_link(b"\xc3\x01" + bytes(8) + b"\x02x")


# --- checkpoints ----------------------------------------------------------------------------


def test_a_signed_checkpoint_follows_every_k_records_and_certifies_the_head_before_it(
    chain_factory: ChainFactory, signer: CheckpointSigner
) -> None:
    chain = chain_factory(checkpoint_every=3)
    sealed = []
    for n in range(3):
        assert not chain.checkpoint_due(0)
        sealed.append(chain.seal(0, **record_fields(n)))

    assert chain.checkpoint_due(0)
    data = chain.checkpoint(0, NOW)

    checkpoint = CODEC.decode(data, AuditCheckpoint)
    assert is_checkpoint(CODEC, data)
    assert (checkpoint.partition, checkpoint.sequence) == (0, 3)
    assert checkpoint.prev_hash == message_hash(sealed[-1])
    assert checkpoint.key_id == signer.key_id
    assert checkpoint_problem(checkpoint, signer.public_key) is None
    assert not chain.checkpoint_due(0)
    assert CODEC.decode(chain.seal(0, **record_fields(3)), AuditRecord).prev_hash == (
        message_hash(data)
    )


def test_a_partition_is_checkpointed_once_its_oldest_uncovered_record_is_interval_old(
    chain_factory: ChainFactory,
) -> None:
    chain = chain_factory(checkpoint_interval=timedelta(seconds=30))
    chain.seal(0, **record_fields(0, at=NOW))
    chain.seal(1, **record_fields(1, at=NOW + timedelta(seconds=20)))

    assert chain.checkpoints(NOW + timedelta(seconds=29)) == []
    due = chain.checkpoints(NOW + timedelta(seconds=30))

    assert [partition for partition, _ in due] == [0]
    assert chain.checkpoints(NOW + timedelta(seconds=31)) == []


def test_forced_checkpoints_cover_every_partition_with_records_not_yet_covered(
    chain_factory: ChainFactory,
) -> None:
    chain = chain_factory()
    chain.seal(0, **record_fields(0))
    chain.seal(1, **record_fields(1))
    chain.checkpoint(1, NOW)

    forced = chain.checkpoints(NOW, partitions=[0, 1, 2], force=True)

    assert [partition for partition, _ in forced] == [0]


def test_a_partition_found_empty_is_owed_one_signed_genesis_checkpoint_without_any_record(
    chain_factory: ChainFactory, signer: CheckpointSigner
) -> None:
    chain = chain_factory(checkpoint_interval=timedelta(hours=1))
    chain.start_empty(2)
    chain.set_head(3, None)  # continued from an unchained record: owed nothing

    due = chain.checkpoints(NOW)

    assert [partition for partition, _ in due] == [2]
    checkpoint = CODEC.decode(due[0][1], AuditCheckpoint)
    assert (checkpoint.sequence, checkpoint.prev_hash) == (0, genesis_hash(2))
    assert checkpoint_problem(checkpoint, signer.public_key) is None
    assert chain.checkpoints(NOW, partitions=[2, 3], force=True) == []
    report = verify_messages([ExportedMessage(2, 0, due[0][1])], signer.public_key, partitions=3)
    assert [p.partition for p in report.problems] == [0, 1]  # 2 verifies, though idle


def test_checkpoint_times_keep_milliseconds_only_so_the_signature_survives_encoding(
    chain_factory: ChainFactory, signer: CheckpointSigner
) -> None:
    chain = chain_factory()
    chain.seal(0, **record_fields(0))

    checkpoint = CODEC.decode(chain.checkpoint(0, NOW), AuditCheckpoint)

    assert checkpoint.at == NOW.replace(microsecond=123000)
    assert checkpoint_problem(checkpoint, signer.public_key) is None


def test_a_chain_switched_off_writes_unlinked_records_and_no_checkpoints(
    chain_factory: ChainFactory,
) -> None:
    chain = chain_factory(chained=False, checkpoint_every=1)

    data = chain.seal(0, **record_fields(0))

    assert read_link(data) == ("", UNCHAINED_SEQUENCE)
    assert ChainHead.after(data) is None
    assert not chain.checkpoint_due(0)
    assert chain.checkpoints(NOW, partitions=[0], force=True) == []


# --- sealing again after a failed write -------------------------------------------------------


def test_resealing_keeps_the_record_and_moves_it_to_the_current_head(
    chain_factory: ChainFactory,
) -> None:
    chain = chain_factory()
    landed = chain.seal(0, **record_fields(0))
    retried = chain.seal(0, **record_fields(1))
    chain.set_head(0, ChainHead.after(landed))
    chain.seal(0, **record_fields(2))  # someone else's record landed meanwhile

    resealed = chain.reseal(0, retried, NOW)

    before, after = CODEC.decode(retried, AuditRecord), CODEC.decode(resealed, AuditRecord)
    assert after.sequence == 2
    assert after.model_dump(exclude={"prev_hash", "sequence"}) == before.model_dump(
        exclude={"prev_hash", "sequence"}
    )


def test_resealing_a_checkpoint_signs_the_new_head(
    chain_factory: ChainFactory, signer: CheckpointSigner
) -> None:
    chain = chain_factory()
    chain.seal(0, **record_fields(0))
    old = chain.checkpoint(0, NOW)
    chain.set_head(0, ChainHead(7, "cd" * 32))

    checkpoint = CODEC.decode(chain.reseal(0, old, NOW), AuditCheckpoint)

    assert (checkpoint.sequence, checkpoint.prev_hash) == (7, "cd" * 32)
    assert checkpoint_problem(checkpoint, signer.public_key) is None
