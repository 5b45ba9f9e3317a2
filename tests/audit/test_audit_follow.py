"""A chain follower (the indexer's, ``gateway status``'s) checks the live audit topic with the same
verifier as ``gateway audit verify``: the same breaks, in the same words, each told once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from audit_factories import CODEC, ChainFactory, LogFactory, record_fields

from gateway.audit.chain import ChainHead, message_hash
from gateway.audit.checkpoint import CheckpointSigner
from gateway.audit.files import ExportedMessage
from gateway.audit.follow import ChainFollower
from gateway.audit.verify import verify_messages

Log = list[ExportedMessage]


def followed(log: Log, follower: ChainFollower) -> list[str]:
    """What the follower says of each message that does not link, in order."""
    problems = []
    for m in log:
        problem = follower.follow(m.partition, m.value, message_hash(m.value), m.offset)
        if problem is not None:
            problems.append(problem)
    return problems


def _altered(log: Log) -> Log:
    value = log[4].value
    return [*log[:4], ExportedMessage(0, 4, value[:-1] + bytes([value[-1] ^ 1])), *log[5:]]


def _deleted(log: Log) -> Log:
    return [*log[:4], *log[5:]]


def _repeated(log: Log) -> Log:
    return [*log[:5], ExportedMessage(0, 5, log[4].value), *log[5:]]


@pytest.mark.parametrize("tamper", [_altered, _deleted, _repeated])
def test_a_break_is_described_in_the_words_audit_verify_uses(
    log_factory: LogFactory, signer: CheckpointSigner, tamper: Callable[[Log], Log]
) -> None:
    log = tamper(log_factory(records=10))

    (finding,) = verify_messages(log, signer.public_key).problems
    first = followed(log, ChainFollower(public_key=signer.public_key, codec=CODEC))[0]

    assert first.endswith(finding.problem)


def test_the_follower_keeps_going_after_a_break_and_tells_each_break_once(
    log_factory: LogFactory, signer: CheckpointSigner
) -> None:
    log = log_factory(records=12)
    tampered = [*log[:2], *log[3:8], *log[9:]]  # two messages deleted, far apart

    problems = followed(tampered, ChainFollower(public_key=signer.public_key))

    assert len(problems) == 2
    assert all("1 message(s) missing" in p for p in problems)


def test_a_follower_starting_mid_chain_takes_the_first_message_as_given(
    log_factory: LogFactory,
) -> None:
    log = log_factory(records=10)

    assert followed(log[3:], ChainFollower()) == []


def test_a_resumed_follower_expects_the_head_it_was_given(log_factory: LogFactory) -> None:
    log = log_factory(records=10)
    follower = ChainFollower()
    follower.resume({0: ChainHead.after(log[2].value) or ChainHead.genesis(0)})

    problems = followed(log[4:], follower)

    assert len(problems) == 1 and "sequence jumps from 2 to 4" in problems[0]
    assert follower.heads[0] == ChainHead(len(log), message_hash(log[-1].value))


def test_records_written_with_the_chain_off_are_counted_not_breaks(
    chain_factory: ChainFactory,
) -> None:
    chain = chain_factory(chained=False)
    log = [ExportedMessage(0, n, chain.seal(0, **record_fields(n))) for n in range(3)]
    follower = ChainFollower()

    assert followed(log, follower) == []
    assert follower.unchained == 3
