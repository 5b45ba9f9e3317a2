"""The processor takes partitions over from what the runner read of Kafka (committed offsets, the
audit partitions' last messages) and gives them up again; it works out chain heads and input-gap
expectations itself."""

from __future__ import annotations

import pytest
from audit_factories import CODEC, NOW, ChainFactory
from processor_support import TOPICS, make_processor

from gateway.audit.chain import (
    CHECKPOINT_KEY,
    genesis_hash,
    is_checkpoint,
    message_hash,
    read_link,
)
from gateway.audit.checkpoint import CheckpointSigner
from gateway.audit.files import ExportedMessage
from gateway.audit.verify import verify_messages
from gateway.envelope.headers import schema_header
from gateway.envelope.models import AuditCheckpoint, AuditOutcome, AuditRecord
from gateway.errors import ChainBrokenError
from gateway.exchange.messages import InputMessage, OutputMessage
from gateway.exchange.processor import ExchangeProcessor

REQUESTS = TOPICS.requests("nhs")
RESPONSES = TOPICS.responses("nhs")


@pytest.fixture
def core(chain_factory: ChainFactory) -> ExchangeProcessor:
    """A processor whose chain signs a checkpoint after every 100 records, audit layout unset."""
    return make_processor(audit_chain=chain_factory(checkpoint_every=100))


def junk(partition: int, offset: int, topic: str = REQUESTS) -> InputMessage:
    return InputMessage(topic, partition, offset, b"k", b"junk")


def audit_of(core: ExchangeProcessor, *inputs: InputMessage) -> list[OutputMessage]:
    return core.process_batch(list(inputs), NOW).audit


def links(messages: list[OutputMessage]) -> list[tuple[int | None, str, int]]:
    return [(m.partition, *read_link(m.value)) for m in messages]


def test_set_audit_layout_audits_input_partition_p_on_p_modulo_the_count(
    core: ExchangeProcessor,
) -> None:
    core.set_audit_layout(3)

    assert [core.audit_partition_of(p) for p in (0, 4, 5)] == [0, 1, 2]
    assert [m.partition for m in audit_of(core, junk(4, 0), junk(5, 0))] == [1, 2]


def test_a_taken_over_audit_partition_continues_after_its_last_message(
    core: ExchangeProcessor,
) -> None:
    core.set_audit_layout(2)
    predecessor = make_processor(audit_partitions=2)
    (last,) = audit_of(predecessor, junk(1, 0))

    core.take_over({(REQUESTS, 1): 1}, {1: last.value})

    assert links(audit_of(core, junk(1, 1))) == [(1, message_hash(last.value), 1)]


def test_an_audit_partition_taken_over_empty_is_owed_a_signed_genesis_checkpoint(
    core: ExchangeProcessor, signer: CheckpointSigner
) -> None:
    core.take_over({(REQUESTS, 0): None}, {0: None})

    (genesis,) = core.checkpoints(NOW)

    assert (genesis.topic, genesis.key, genesis.partition) == (TOPICS.audit, CHECKPOINT_KEY, 0)
    assert genesis.headers == [schema_header(AuditCheckpoint)]
    assert read_link(genesis.value) == (genesis_hash(0), 0)
    assert verify_messages([ExportedMessage(0, 0, genesis.value)], signer.public_key).ok
    assert core.checkpoints(NOW) == []  # owed once


def test_an_audit_partition_not_ending_in_a_chain_link_takes_nothing_over(
    core: ExchangeProcessor,
) -> None:
    with pytest.raises(ChainBrokenError):
        core.take_over({(REQUESTS, 0): 3}, {0: b"not a chain link"})

    assert core.awaiting_take_over([(REQUESTS, 0)]) == [(REQUESTS, 0)]
    assert core.tails_needed([(REQUESTS, 0)]) == {0}
    assert core.held_audit_partitions == []


def test_the_tails_needed_are_the_audit_partitions_without_a_chain_head(
    core: ExchangeProcessor, chain_factory: ChainFactory
) -> None:
    core.set_audit_layout(4)
    core.take_over({(REQUESTS, 1): None}, {1: None})

    assert core.tails_needed([(REQUESTS, 1), (RESPONSES, 1), (REQUESTS, 6)]) == {2}
    unchained = make_processor(audit_chain=chain_factory(chained=False), audit_partitions=4)
    assert unchained.tails_needed([(REQUESTS, 6)]) == set()


def test_a_first_record_past_the_committed_offset_is_an_input_gap_and_none_committed_is_none(
    core: ExchangeProcessor,
) -> None:
    core.take_over({(REQUESTS, 0): 3, (RESPONSES, 0): None}, {0: None})

    audited = [CODEC.decode(m.value, AuditRecord) for m in audit_of(core, junk(0, 5, RESPONSES))]
    assert [r.outcome for r in audited] == [AuditOutcome.DEAD_LETTERED]  # no gap without a commit
    gap, _ = (CODEC.decode(m.value, AuditRecord) for m in audit_of(core, junk(0, 5)))
    assert (gap.outcome, gap.input_offset) == (AuditOutcome.INPUT_GAP, 3)


def test_given_up_partitions_await_a_fresh_take_over_and_forget_their_expected_offsets(
    core: ExchangeProcessor,
) -> None:
    core.set_audit_layout(2)
    core.take_over({(REQUESTS, 0): 3, (REQUESTS, 1): 0}, {0: None, 1: None})
    assert core.awaiting_take_over([(REQUESTS, 0), (REQUESTS, 1)]) == []

    core.give_up([(REQUESTS, 0)])

    assert core.awaiting_take_over([(REQUESTS, 0), (REQUESTS, 1)]) == [(REQUESTS, 0)]
    assert core.held_audit_partitions == [1]
    core.take_over({(REQUESTS, 0): None}, {0: None})
    audited = [CODEC.decode(m.value, AuditRecord) for m in audit_of(core, junk(0, 9))]
    assert [r.outcome for r in audited] == [AuditOutcome.DEAD_LETTERED]  # 3 is forgotten


def test_giving_up_an_input_partition_has_the_others_on_its_audit_partition_taken_over_again(
    core: ExchangeProcessor,
) -> None:
    """Their chain was forgotten with it: sealing there again needs its last message."""
    core.set_audit_layout(2)
    core.take_over({(REQUESTS, 0): 0, (REQUESTS, 2): 0, (REQUESTS, 1): 0}, {0: None, 1: None})

    core.give_up([(REQUESTS, 0)])

    assert core.awaiting_take_over([(REQUESTS, 2), (REQUESTS, 1)]) == [(REQUESTS, 2)]
    assert core.tails_needed([(REQUESTS, 2)]) == {0}


def test_an_abandoned_audit_partition_has_its_inputs_taken_over_again(
    core: ExchangeProcessor,
) -> None:
    core.set_audit_layout(2)
    core.take_over({(REQUESTS, 0): 0, (RESPONSES, 0): 0, (REQUESTS, 1): 0}, {0: None, 1: None})

    core.abandon([0])

    owned = [(REQUESTS, 0), (RESPONSES, 0), (REQUESTS, 1)]
    assert core.awaiting_take_over(owned) == [(REQUESTS, 0), (RESPONSES, 0)]
    assert core.held_audit_partitions == [1]


def test_a_failed_write_is_sealed_again_after_what_landed_with_the_same_decisions(
    core: ExchangeProcessor,
) -> None:
    core.take_over({(REQUESTS, 0): 0}, {0: None})
    core.checkpoints(NOW)  # the genesis checkpoint, written
    sent = audit_of(core, junk(0, 0), junk(0, 1)) + core.checkpoints(NOW, force=True)
    landed = sent[0]  # of the write that failed, only the first record landed

    again = core.reseal(sent, {0: landed.value}, NOW)

    assert [read_link(m.value) for m in again[:1]] == [(message_hash(landed.value), 2)]
    assert [read_link(m.value)[1] for m in again] == [2, 3, 4]
    decisions = [CODEC.decode(m.value, AuditRecord).decision_id for m in (*sent[:2], *again[:2])]
    assert decisions[:2] == decisions[2:]  # the landed one stays, as a repeat
    assert is_checkpoint(CODEC, again[2].value)
    assert [(m.topic, m.partition, m.key, m.headers) for m in again] == [
        (m.topic, m.partition, m.key, m.headers) for m in sent
    ]


def test_reseal_leaves_messages_alone_when_the_chain_is_off(chain_factory: ChainFactory) -> None:
    core = make_processor(audit_chain=chain_factory(chained=False))
    sent = audit_of(core, junk(0, 0))

    assert core.reseal(sent, {0: None}, NOW) == sent


def test_forced_checkpoints_sign_only_the_partitions_named(core: ExchangeProcessor) -> None:
    core.set_audit_layout(2)
    core.take_over({(REQUESTS, 0): 0, (REQUESTS, 1): 0}, {0: None, 1: None})
    core.checkpoints(NOW)  # the genesis ones
    audit_of(core, junk(0, 0), junk(1, 0))

    assert core.checkpoints(NOW) == []  # not due yet
    assert [m.partition for m in core.checkpoints(NOW, partitions=[1], force=True)] == [1]
