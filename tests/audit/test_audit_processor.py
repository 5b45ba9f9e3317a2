"""The processor seals each audit record into the chain of a definite audit partition."""

from __future__ import annotations

from audit_factories import CODEC, NOW, ChainFactory
from processor_support import TOPICS, make_processor

from gateway.audit.chain import genesis_hash, is_checkpoint, message_hash
from gateway.audit.checkpoint import CheckpointSigner
from gateway.audit.files import ExportedMessage
from gateway.audit.verify import verify_messages
from gateway.envelope.models import AuditRecord
from gateway.exchange.messages import InputMessage
from gateway.exchange.processor import ExchangeProcessor


def processor(
    chain_factory: ChainFactory, audit_partitions: int, **chain: object
) -> ExchangeProcessor:
    return make_processor(audit_chain=chain_factory(**chain), audit_partitions=audit_partitions)


def junk(partition: int, offset: int) -> InputMessage:
    return InputMessage(TOPICS.requests("nhs"), partition, offset, b"k", b"junk")


def test_input_partition_p_is_audited_on_partition_p_modulo_the_audit_partitions(
    chain_factory: ChainFactory,
) -> None:
    core = processor(chain_factory, audit_partitions=4)

    out = core.process_batch([junk(5, 0), junk(2, 0), junk(1, 0), junk(5, 1)], NOW)

    assert [m.partition for m in out.audit] == [1, 2, 1, 1]
    records = [CODEC.decode(m.value, AuditRecord) for m in out.audit]
    assert [r.sequence for r in records] == [0, 0, 1, 2]
    assert records[0].prev_hash == genesis_hash(1)
    assert records[2].prev_hash == message_hash(out.audit[0].value)
    assert records[3].prev_hash == message_hash(out.audit[2].value)


def test_a_checkpoint_follows_in_the_same_partition_after_every_k_records(
    chain_factory: ChainFactory, signer: CheckpointSigner
) -> None:
    core = processor(chain_factory, audit_partitions=2, checkpoint_every=2)

    out = core.process_batch([junk(0, n) for n in range(5)], NOW)

    kinds = ["cp" if is_checkpoint(CODEC, m.value) else "rec" for m in out.audit]
    assert kinds == ["rec", "rec", "cp", "rec", "rec", "cp", "rec"]
    assert {m.partition for m in out.audit} == {0}
    log = [ExportedMessage(0, n, m.value) for n, m in enumerate(out.audit)]
    assert verify_messages(log, signer.public_key).ok
