"""The indexer without a broker: audit records are stored once however often they are read,
other messages are counted and never crash it, and the hash chain is followed across batches,
restarts and failed loads; all alike whether records are read in the indexer or in a decoder
process, which stores the same rows and never leaves the indexer waiting on one that died."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.chain import AuditChain
from gateway.audit.checkpoint import CheckpointSigner
from gateway.audit.follow import ChainFollower
from gateway.audit_store import AuditStore, DecisionQuery, open_store
from gateway.audit_store.indexing import AuditIndexer, AuditMessage
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditRecord
from gateway.errors import AuditError, AuditStoreUnavailable

RecordFactory = Callable[..., AuditRecord]
IndexerFactory = Callable[..., AuditIndexer]
TOPIC = "dx.audit"
SIGNER = CheckpointSigner(Ed25519PrivateKey.generate())


@pytest.fixture
def sealed(record_factory: RecordFactory) -> Callable[..., list[AuditMessage]]:
    """``sealed(n, partitions=2)``: ``n`` records sealed into chains exactly as the gateway
    seals them, with a signed checkpoint after every third record of a partition."""

    def make(count: int, partitions: int = 2) -> list[AuditMessage]:
        codec = Codec.default()
        chain = AuditChain(codec, instance_id="gateway-test", signer=SIGNER, checkpoint_every=3)
        offsets = [0] * partitions
        messages = []

        def add(partition: int, value: bytes) -> None:
            messages.append(AuditMessage(TOPIC, partition, offsets[partition], value))
            offsets[partition] += 1

        for i in range(count):
            partition = i % partitions
            fields: dict[str, Any] = dict(record_factory().__dict__)
            del fields["prev_hash"], fields["sequence"]
            add(partition, chain.seal(partition, **fields))
            if chain.checkpoint_due(partition):
                add(partition, chain.checkpoint(partition, fields["at"] + timedelta(seconds=1)))
        return messages

    return make


@pytest.fixture(params=[False, True], ids=["in-process", "decoder-process"])
def indexer(request: pytest.FixtureRequest) -> Iterator[IndexerFactory]:
    """``indexer(store, chained=True)``: an indexer following the chain and checking checkpoint
    signatures (``chained=False``: judging decoding only), reading records in itself or in a
    decoder process; closed afterwards."""
    made: list[AuditIndexer] = []

    def make(store: AuditStore, *, chained: bool = True) -> AuditIndexer:
        chain = ChainFollower(public_key=SIGNER.public_key) if chained else None
        made.append(AuditIndexer(store, chain=chain, decoder_process=request.param))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_records_are_stored_once_and_checkpoints_counted_not_stored(
    store: AuditStore, sealed: Callable[..., list[AuditMessage]], indexer: IndexerFactory
) -> None:
    messages = sealed(12)
    first = indexer(store)

    added = first.index(messages)
    checkpoints = dict(first.stats.skipped)
    again = first.index(messages)

    assert (added, again) == (12, 0)
    assert store.count() == 12
    assert checkpoints == {"AuditCheckpoint": 4}
    assert (first.stats.indexed, first.stats.repeated, first.stats.chain_breaks) == (12, 12, 0)


def test_undecodable_messages_are_logged_and_counted_and_indexing_goes_on(
    store: AuditStore,
    sealed: Callable[..., list[AuditMessage]],
    indexer: IndexerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = sealed(2, partitions=1)
    header = good[0].value[:10] if good[0].value else b""
    junk = [
        AuditMessage(TOPIC, 1, 0, b"not avro at all"),
        AuditMessage(TOPIC, 1, 1, None),
        AuditMessage(TOPIC, 1, 2, b"\xc3\x01" + b"\x00" * 8 + b"unknown schema"),
        AuditMessage(TOPIC, 1, 3, header + b"\xff\xff truncated record"),
    ]
    plain = indexer(store, chained=False)  # only decoding is judged here

    with caplog.at_level(logging.WARNING, logger="gateway.audit.indexer"):
        plain.index([*good, *junk])

    assert store.count() == 2
    assert plain.stats.undecodable == 4
    assert [r.getMessage().split(" not indexed")[0] for r in caplog.records] == [
        f"audit message at {TOPIC}[1]@{offset}" for offset in range(4)
    ]


def test_an_altered_or_missing_message_is_reported_as_a_chain_break(
    store: AuditStore,
    sealed: Callable[..., list[AuditMessage]],
    indexer: IndexerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    messages = [m for m in sealed(16) if m.partition == 0]
    value = messages[1].value or b""
    altered = AuditMessage(TOPIC, 0, 1, value[:-1] + bytes([value[-1] ^ 1]))
    tampered = [messages[0], altered, *messages[2:4], *messages[5:]]

    with caplog.at_level(logging.ERROR, logger="gateway.audit.indexer"):
        checked = indexer(store)
        checked.index(tampered)

    assert checked.stats.chain_breaks == 2
    problems = [r.getMessage() for r in caplog.records]
    assert "sequence 1 (offset 1): message was modified" in problems[0]
    assert "1 message(s) missing" in problems[1]


def test_a_restarted_indexer_follows_the_chain_on_from_where_the_store_stands(
    store_url: str, sealed: Callable[..., list[AuditMessage]], indexer: IndexerFactory
) -> None:
    messages = sealed(20)
    half = len(messages) // 2
    before = open_store(store_url)
    indexer(before).index(messages[:half])
    before.close()

    after = open_store(store_url)
    resumed = indexer(after)
    starts = resumed.resume(TOPIC)
    rest = [m for m in messages if m.offset >= starts.get(m.partition, 0)]
    resumed.index(rest)

    assert rest == messages[half:]
    assert resumed.stats.chain_breaks == 0
    assert after.count() == 20
    after.close()


def test_a_batch_whose_load_failed_midway_can_be_loaded_again_without_false_chain_breaks(
    store: AuditStore, sealed: Callable[..., list[AuditMessage]], indexer: IndexerFactory
) -> None:
    class FlakyStore:
        def __init__(self) -> None:
            self.failures = 1

        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        def load_rows(self, rows: Iterable[Any], *args: Any) -> int:
            if self.failures:
                self.failures -= 1
                next(iter(rows))  # a row is read before the database gives up
                raise AuditStoreUnavailable("database is locked")
            return store.load_rows(rows, *args)

    messages = sealed(9)
    flaky = indexer(FlakyStore())

    with pytest.raises(AuditStoreUnavailable):
        flaky.index(messages[:6])
    flaky.index(messages[:6])
    flaky.index(messages[6:])  # the batch after is in step too

    assert (flaky.stats.indexed, flaky.stats.chain_breaks, flaky.stats.batches) == (9, 0, 2)
    assert len(store.decisions(DecisionQuery())) == 9


def test_a_decoder_process_stores_exactly_the_rows_the_indexer_itself_would(
    tmp_path: Path, sealed: Callable[..., list[AuditMessage]]
) -> None:
    messages = sealed(30, partitions=3)
    tables = []
    for decoder_process in (False, True):
        path = tmp_path / f"{decoder_process}.db"
        store = open_store(f"sqlite:///{path}")
        with closing(store), AuditIndexer(store, decoder_process=decoder_process) as one:
            one.index(messages[:17])
            one.index(messages[17:])
        with closing(sqlite3.connect(path)) as db:
            tables.append(db.execute("SELECT * FROM audit_decision ORDER BY rowid").fetchall())

    assert len(tables[0]) == 30
    assert tables[1] == tables[0]


def test_a_decoder_process_that_died_is_an_error_rather_than_a_wait(
    store: AuditStore, sealed: Callable[..., list[AuditMessage]]
) -> None:
    with AuditIndexer(store, decoder_process=True) as one:
        assert one.decoder_pid is not None
        os.kill(one.decoder_pid, signal.SIGKILL)

        with pytest.raises(AuditError, match="decoder process stopped"):
            one.index(sealed(3))
