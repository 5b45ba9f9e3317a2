"""The Kafka runner: drives the pure exchange processor in batches with aiokafka.

Per batch: ``getmany`` -> ``process_batch`` -> write the audit records and wait for every
acknowledgement -> write routed messages, replies and dead letters and wait -> commit the input
offsets. If the audit topic cannot be written, nothing is routed: the runner keeps retrying the
same audit records, says so loudly, and only then moves on (fail closed). A crash anywhere before
the commit means the batch is redelivered; the processor's de-duplication keeps a redelivered
request from being answered twice.

Audit records go to explicit audit partitions, each holding one hash chain (see
:mod:`gateway.transport.audit_keeper` for the partition invariant): before the first batch from
newly owned input partitions the runner continues their chains from the audit topic, and before
partitions move away (after the batch in hand) it writes a signed checkpoint of their chains.

The runner also consumes the capped topic (requests under capped purposes, keyed by cap key): the
volume counters of its partitions live here, restored before their first batch and dropped when
they move (:mod:`gateway.transport.cap_keeper`).

With ``transactions=True`` (Apache Kafka) each batch is split by lane (audit partition) and each
lane's audit records, outputs and input offsets are written in one Kafka transaction
(:mod:`gateway.transport.transactions`): a crash anywhere leaves the whole batch or none of it.
A transaction that fails is aborted, and the lane is rewound: its processing state is dropped
and its partitions are read again from the committed offsets, so nothing of the aborted attempt
survives anywhere. Without transactions (the embedded broker, which cannot filter aborted
records) delivery is at least once, and de-duplication keeps a redelivered request from being
answered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from gateway.envelope.headers import REPLAY_OF
from gateway.envelope.models import AuditOutcome, Reason
from gateway.errors import TransportError
from gateway.exchange.messages import BatchOutputs, InputMessage, OutputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.transport.audit_keeper import AUDIT_UNAVAILABLE, AuditKeeper
from gateway.transport.cap_keeper import CapKeeper
from gateway.transport.clients import input_consumer, output_producer
from gateway.transport.closing import stop_client
from gateway.transport.hooks import NO_HOOKS, RunnerHooks
from gateway.transport.produce import send_and_wait_all
from gateway.transport.recall import recall_recent_outputs, recall_since
from gateway.transport.topics import TopicNames
from gateway.transport.transactions import LaneFenced, TransactionalLanes

__all__ = ["GatewayRunner", "RunnerStats"]

log = logging.getLogger("gateway.runner")

_AUDIT_CHAINS = "AUDIT LOG UNAVAILABLE: routing is paused while the audit chains cannot be read"


@dataclass(slots=True)
class RunnerStats:
    """Counters an operator (or the demo) can read while the runner works."""

    batches: int = 0
    records_in: int = 0
    audit_out: int = 0
    routed_out: int = 0
    audit_paused: bool = False
    audit_failures: int = 0
    commit_failures: int = 0
    transactions: int = 0
    aborted_transactions: int = 0
    started_at: float = field(default_factory=time.monotonic)


def _inputs(records_of: Mapping[TopicPartition, Sequence[Any]]) -> list[InputMessage]:
    """The consumed records as the processor reads them, partition after partition.

    The runner's per-record work, so one comprehension per partition, which reads the topic and
    partition once and looks at headers only when a record has some (a replayed dead letter)."""
    messages: list[InputMessage] = []
    for tp, records in records_of.items():
        topic, partition = tp.topic, tp.partition
        messages += [
            InputMessage(
                topic,
                partition,
                r.offset,
                r.key,
                r.value,
                _replay_of(r.headers) if r.headers else None,
            )
            for r in records
        ]
    return messages


def _replay_of(headers: Iterable[tuple[str, bytes]]) -> str | None:
    """The dead letter a record replays, from its ``dx-replay-of`` header (the last one)."""
    replay_of = None
    for name, value in headers:
        if name == REPLAY_OF:
            replay_of = bytes(value).decode("ascii", "replace")[:64]
    return replay_of


class GatewayRunner:
    """Consumes every department's requests and responses topics and writes the results."""

    def __init__(
        self,
        processor: ExchangeProcessor,
        *,
        bootstrap: str,
        topics: TopicNames,
        departments: Sequence[str],
        group_id: str = "dx-gateway",
        batch_max_records: int = 2000,
        batch_timeout_ms: int = 50,
        audit_retry_max_s: float = 5.0,
        producer_request_timeout_ms: int = 10_000,
        shard: tuple[int, int] | None = None,
        session_timeout_ms: int = 10_000,
        hooks: RunnerHooks = NO_HOOKS,
        transactions: bool = False,
        transaction_timeout_ms: int = 60_000,
    ) -> None:
        self.processor = processor
        self.hooks = hooks
        """Told what each batch read, took, wrote and committed (metrics)."""
        self.stats = RunnerStats()
        self._bootstrap = bootstrap
        self._topics = topics
        self._departments = list(departments)
        self._inputs = [t for d in departments for t in (topics.requests(d), topics.responses(d))]
        self._inputs.append(topics.capped)
        self._group_id = group_id
        self._max_records = batch_max_records
        self._timeout_ms = batch_timeout_ms
        self._audit_retry_max_s = audit_retry_max_s
        self._backoff = _Backoff(audit_retry_max_s)
        self._request_timeout_ms = producer_request_timeout_ms
        self._shard = shard
        self._policy_events: list[tuple[AuditOutcome, tuple[Reason, ...], str, str]] = []
        self._session_timeout_ms = session_timeout_ms
        """``(index, count)``: own the input partitions ``p`` with ``p % count == index`` instead
        of joining the consumer group's rebalancing (offsets are still committed to the group)."""
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._lanes = (
            TransactionalLanes(
                bootstrap=bootstrap,
                group_id=group_id,
                request_timeout_ms=producer_request_timeout_ms,
                transaction_timeout_ms=transaction_timeout_ms,
            )
            if transactions
            else None
        )
        self._rewind: set[int] = set()
        """Lanes whose last transaction failed: read again from the committed offsets first."""
        self._recalled: dict[TopicPartition, int] = {}
        """How far the inbox and replies partitions were read for de-duplication."""
        self._covered: set[TopicPartition] = set()
        """Input partitions owned since the last recall: records of any other partition wait for
        a recall of what other instances released meanwhile (it may have just moved here)."""
        self._next_offsets: dict[TopicPartition, int] = {}
        """With transactions: the first input offset not yet committed, per owned partition.
        Records below it are ones the consumer fetched twice around a seek and are dropped."""
        self._assigned = asyncio.Event()
        self._audit = AuditKeeper(
            processor,
            bootstrap=bootstrap,
            topic=topics.audit,
            timeout_s=producer_request_timeout_ms / 1000,
            shard=shard,
        )
        self._caps = CapKeeper(
            processor,
            bootstrap=bootstrap,
            topics=topics,
            departments=departments,
            lock=self._audit.lock,
        )

    async def start(self) -> None:
        self._producer = output_producer(
            self._bootstrap, request_timeout_ms=self._request_timeout_ms
        )
        self._consumer = input_consumer(
            bootstrap=self._bootstrap,
            group_id=self._group_id,
            max_records=self._max_records,
            wait_ms=self._timeout_ms,
            session_timeout_ms=self._session_timeout_ms,
        )
        try:
            await self._producer.start()
            await recall_recent_outputs(
                self.processor,
                bootstrap=self._bootstrap,
                topics=self._topics,
                departments=self._departments,
                partitions_for=self._producer.partitions_for,
                positions=self._recalled,
            )
            await self._consumer.start()
            await self._audit.start()
            committed, partitions_for = self._consumer.committed, self._producer.partitions_for
            if self._shard is None:
                listener = self._audit.listener(committed, partitions_for, self._write)
                listener = self._caps.listener(listener, partitions_for)
                if self._lanes is not None:
                    listener = _LaneRebalance(self, listener)
                listener = _RecallOnAssign(self, listener)
                self._consumer.subscribe(self._inputs, listener=listener)
            else:
                owned = await self._shard_partitions(*self._shard)
                self._consumer.assign(owned)
                if self._lanes is not None:
                    await self._take_lanes(owned)
                await self._audit.try_prepare(owned, committed, partitions_for)
                await self._caps.try_prepare(owned, partitions_for)
        except KafkaError as exc:
            await self.stop()
            raise TransportError(f"cannot connect to Kafka at {self._bootstrap}: {exc}") from exc

    async def _shard_partitions(self, index: int, count: int) -> list[TopicPartition]:
        producer = self._producer
        assert producer is not None
        owned = []
        for topic in self._inputs:
            partitions = await producer.partitions_for(topic)
            owned += [TopicPartition(topic, p) for p in sorted(partitions) if p % count == index]
        return owned

    async def stop(self, within: float = 10.0) -> None:
        """Close every Kafka client, each within ``within`` seconds whatever the broker does."""
        if self._lanes is not None:
            await self._lanes.close(within=within)
        await self._audit.stop(within)
        if self._consumer is not None:
            await stop_client(self._consumer, "the input consumer", within)
            self._consumer = None
        if self._producer is not None:
            await stop_client(self._producer, "the producer", within)
            self._producer = None

    def assigned(self) -> int:
        """How many input partitions this instance owns right now."""
        return len(self.assignment())

    def assignment(self) -> set[TopicPartition]:
        """The input partitions this instance owns right now."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    def highwaters(self) -> dict[TopicPartition, int | None]:
        """The end offset last fetched of each owned input partition (for consumer lag)."""
        consumer = self._consumer
        if consumer is None:
            return {}
        return {tp: consumer.highwater(tp) for tp in consumer.assignment()}

    async def wait_assigned(self, within: float = 30.0) -> None:
        """Wait until this instance owns at least one input partition."""
        consumer = self._require_consumer()
        deadline = time.monotonic() + within
        while not consumer.assignment():
            if time.monotonic() > deadline:
                raise TransportError("no input partitions assigned within the timeout")
            await asyncio.sleep(0.05)

    async def run(self, stop: asyncio.Event) -> None:
        """Process batches until ``stop`` is set; the batch in hand is finished first."""
        consumer = self._require_consumer()
        while not stop.is_set():
            try:
                batch = await consumer.getmany(
                    timeout_ms=self._timeout_ms, max_records=self._max_records
                )
            except KafkaError as exc:  # group coordination trouble: aiokafka rejoins by itself
                log.warning("consumer error, retrying: %s", exc)
                await asyncio.sleep(0.5)
                continue
            if self._policy_events and self.processor.held_audit_partitions:
                await self._write_policy_events(stop)
            if not self._covered.issuperset(batch) and not await self._recall_more(stop):
                break  # stopped: the batch in hand is not committed and is read again
            if batch:
                await self._handle(batch, stop)
            else:
                async with self._audit.lock:
                    self.stats.audit_out += await self._audit.write_checkpoints(self._write)
        async with self._audit.lock:  # a clean shutdown signs every chain's head
            partitions = self.processor.held_audit_partitions
            self.stats.audit_out += await self._audit.write_checkpoints(self._write, partitions)

    async def _recall_more(self, stop: asyncio.Event) -> bool:
        """Read what other instances released since the last recall, before any record of the
        partitions that just moved here is processed; False only if stopped meanwhile."""
        owned = self.assignment()

        async def attempt(_: int) -> None:
            await recall_since(self.processor, self._recalled, bootstrap=self._bootstrap)

        if not await self._retry(
            attempt, stop, audit=False, what="the replies cannot be read back for de-duplication"
        ):
            return False
        self._covered |= owned
        return True

    def note_policy_event(
        self, outcome: AuditOutcome, reasons: Sequence[Reason], version: str, source: str
    ) -> None:
        """Queue the audit record of a policy change; it is written before the next batch."""
        self._policy_events.append((outcome, tuple(reasons), version, source))

    async def _write_policy_events(self, stop: asyncio.Event) -> None:
        async with self._audit.lock:
            while self._policy_events:
                outcome, reasons, version, source = self._policy_events[0]
                out = self.processor.policy_event(
                    outcome=outcome,
                    reasons=reasons,
                    version=version,
                    source=source,
                    now=datetime.now(UTC),
                )
                if not await self._deliver(out.audit, stop, audit=True):
                    self._audit.abandon(out.audit)
                    return
                self.stats.audit_out += len(out.audit)
                self._policy_events.pop(0)

    async def _handle(self, batch: dict[TopicPartition, list[object]], stop: asyncio.Event) -> None:
        async with self._audit.lock:
            await self._handle_locked(batch, stop)

    async def _handle_locked(
        self, batch: dict[TopicPartition, list[object]], stop: asyncio.Event
    ) -> None:
        if self._lanes is not None:
            await self._handle_transactional(batch, stop, self._lanes)
            return
        messages = _inputs(batch)
        commits = {tp: records[-1].offset + 1 for tp, records in batch.items()}  # type: ignore[attr-defined]
        hooks = self.hooks
        hooks.batch_read(batch)
        consumer, producer = self._require_consumer(), self._producer
        assert producer is not None

        async def prepare(_: int) -> None:
            await self._audit.prepare(commits, consumer.committed, producer.partitions_for)
            await self._caps.prepare(commits, producer.partitions_for)

        if not await self._retry(prepare, stop, audit=True, what=_AUDIT_CHAINS):
            return  # stopped before anything was processed: the batch is redelivered
        now = datetime.now(UTC)
        with hooks.timed("process"):
            out = self.processor.process_batch(messages, now)
        out.audit += self.processor.checkpoints(now)
        with hooks.timed("audit_write"):
            delivered = await self._deliver(out.audit, stop, audit=True)
        if delivered:
            with hooks.timed("produce"):
                delivered = await self._deliver(out.routed, stop, audit=False)
        hooks.settled(delivered)
        if not delivered:
            # Stopped while Kafka refused writes: nothing committed, so the batch is redelivered
            # and must not then count as already seen, nor its audit records as chain heads.
            self.processor.forget(out)
            self._audit.abandon(out.audit)
            return
        self.stats.batches += 1
        self.stats.records_in += len(messages)
        self.stats.audit_out += len(out.audit)
        self.stats.routed_out += len(out.routed)
        try:
            with hooks.timed("commit"):
                await self._require_consumer().commit(commits)
            hooks.committed(commits)
        except (CommitFailedError, KafkaError) as exc:
            # The partitions moved to another instance, which re-reads from the last commit.
            self.stats.commit_failures += 1
            log.warning("offset commit failed after a rebalance: %s", exc)

    async def _handle_transactional(
        self,
        batch: dict[TopicPartition, list[object]],
        stop: asyncio.Event,
        lanes: TransactionalLanes,
    ) -> None:
        consumer, producer = self._require_consumer(), self._producer
        assert producer is not None
        everything = {tp: records[-1].offset + 1 for tp, records in batch.items()}  # type: ignore[attr-defined]

        async def prepare(_: int) -> None:
            await self._audit.prepare(everything, consumer.committed, producer.partitions_for)
            await self._caps.prepare(everything, producer.partitions_for)

        if not await self._retry(prepare, stop, audit=True, what=_AUDIT_CHAINS):
            return  # nothing processed or committed: the batch is redelivered
        hooks = self.hooks
        lane_of = self.processor.audit_partition_of
        by_lane: dict[int, dict[TopicPartition, list[object]]] = {}
        for tp, records in batch.items():
            by_lane.setdefault(lane_of(tp.partition), {})[tp] = records
        for lane, records_of in sorted(by_lane.items()):
            if stop.is_set():
                return  # not committed: read again by whoever owns the lane next
            if lane in self._rewind:
                # Whether or not the seek back to the committed offsets succeeds now, what this
                # batch holds of the lane may start past them (fetched before an aborted
                # transaction): dropped, read again from the committed offsets.
                await self._rewind_lane(lane, list(records_of))
                continue
            records_of = self._not_yet_committed(records_of)
            if not records_of:
                continue
            messages = _inputs(records_of)
            commits = {tp: records[-1].offset + 1 for tp, records in records_of.items()}  # type: ignore[attr-defined]
            hooks.batch_read(records_of)
            now = datetime.now(UTC)
            with hooks.timed("process"):
                out = self.processor.process_batch(messages, now)
            out.audit += self.processor.checkpoints(now, partitions=[lane])
            try:
                with hooks.timed("transaction"):
                    await lanes.write(lane, out.audit, out.routed, commits)
            except AUDIT_UNAVAILABLE as exc:
                hooks.settled(False)
                self.stats.aborted_transactions += 1
                self._drop_lane_state(lane, list(commits), out)
                if isinstance(exc, LaneFenced):
                    log.warning("%s; its records are left to that instance", exc)
                    continue
                self.stats.audit_failures += 1
                self.stats.audit_paused = True
                log.error(
                    "AUDIT LOG UNAVAILABLE: the transaction of lane %d was aborted (%s: %s); "
                    "its records are read again and nothing of it was routed",
                    lane,
                    type(exc).__name__,
                    exc,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._backoff.next())
                await self._rewind_lane(lane, list(commits))
                continue
            if self.stats.audit_paused:
                log.warning("audit log writable again: routing resumed")
                self.stats.audit_paused = False
            hooks.written(out.audit)
            hooks.written(out.routed)
            hooks.settled(True)
            hooks.committed(commits)
            self._backoff.reset()
            self._next_offsets.update(commits)
            self.stats.transactions += 1
            self.stats.batches += 1
            self.stats.records_in += len(messages)
            self.stats.audit_out += len(out.audit)
            self.stats.routed_out += len(out.routed)
        # Checkpoints due in lanes this batch did not touch (a genesis among them), each lane's
        # in a transaction of its own.
        self.stats.audit_out += await self._audit.write_checkpoints(self._write)

    def _not_yet_committed(
        self, records_of: dict[TopicPartition, list[object]]
    ) -> dict[TopicPartition, list[object]]:
        """``records_of`` without records below each partition's next uncommitted offset."""
        kept: dict[TopicPartition, list[object]] = {}
        for tp, records in records_of.items():
            first = self._next_offsets.get(tp, 0)
            if records[0].offset >= first:  # type: ignore[attr-defined]  # the usual case
                kept[tp] = records
                continue
            fresh = [r for r in records if r.offset >= first]  # type: ignore[attr-defined]
            if len(fresh) < len(records):
                log.debug(
                    "%s: %d records below %d fetched again, dropped",
                    tp,
                    len(records) - len(fresh),
                    first,
                )
            if fresh:
                kept[tp] = fresh
        return kept

    def _drop_lane_state(self, lane: int, inputs: list[TopicPartition], out: BatchOutputs) -> None:
        """Undo what processing an aborted transaction's records changed in the core."""
        self.processor.forget(out)
        self._audit.release(inputs)
        self._caps.release(inputs)
        self._rewind.add(lane)

    async def _rewind_lane(self, lane: int, inputs: list[TopicPartition]) -> bool:
        """Re-open the lane (settling its last transaction) and seek its partitions back to the
        committed offsets; False if Kafka cannot be asked now (retried with the next batch)."""
        consumer = self._require_consumer()
        lane_of = self.processor.audit_partition_of
        owned = [tp for tp in consumer.assignment() if lane_of(tp.partition) == lane]
        try:
            await self._take_lanes(owned or inputs)
        except AUDIT_UNAVAILABLE as exc:
            log.warning("lane %d cannot be rewound yet (%s: %s)", lane, type(exc).__name__, exc)
            return False
        return True

    async def _take_lanes(self, inputs: Collection[TopicPartition]) -> None:
        """Open the lanes of ``inputs`` (fencing their previous writers), then position every
        one of ``inputs`` at its committed offset, which is settled once the lane is open."""
        assert self._lanes is not None
        consumer = self._require_consumer()
        if self._audit.layout_known():
            lanes = {self.processor.audit_partition_of(tp.partition) for tp in inputs}
        else:
            lanes = {
                tp.partition % len(await self._partitions_for(self._topics.audit)) for tp in inputs
            }
        await self._lanes.open(lanes)
        uncommitted = []
        for tp in inputs:
            offset = await consumer.committed(tp)
            if offset is None:
                uncommitted.append(tp)
            else:
                consumer.seek(tp, offset)
                self._next_offsets[tp] = offset
        if uncommitted:
            for tp, offset in (await consumer.beginning_offsets(uncommitted)).items():
                consumer.seek(tp, offset)
                self._next_offsets[tp] = offset
        self._rewind -= lanes

    async def _partitions_for(self, topic: str) -> Collection[int]:
        producer = self._producer
        assert producer is not None
        return await producer.partitions_for(topic)  # type: ignore[no-any-return]

    async def _deliver(
        self, messages: list[OutputMessage], stop: asyncio.Event, *, audit: bool
    ) -> bool:
        """Write until acknowledged, retrying with backoff; False only if stopped meanwhile.

        Audit records are sealed again before each retry, against what the topic then holds.
        """
        what = (
            "AUDIT LOG UNAVAILABLE: routing is paused until audit records can be written"
            if audit
            else "OUTPUT TOPICS UNAVAILABLE: the batch's routed messages cannot be written"
        )
        pending = messages

        async def write(attempt: int) -> None:
            nonlocal pending
            if audit and attempt:
                pending = await self._audit.reseal(pending, datetime.now(UTC))
            await self._write(pending)

        return await self._retry(write, stop, audit=audit, what=what)

    async def _retry(
        self,
        attempt: Callable[[int], Awaitable[None]],
        stop: asyncio.Event,
        *,
        audit: bool,
        what: str,
    ) -> bool:
        """Run ``attempt(n)`` until it succeeds, with backoff; False only if stopped meanwhile."""
        delay = 0.1
        tries = 0
        while True:
            try:
                await attempt(tries)
            except AUDIT_UNAVAILABLE as exc:
                tries += 1
                if audit:
                    self.stats.audit_failures += 1
                    self.stats.audit_paused = True
                log.error(
                    "%s (%s: %s); retrying in %.1fs",
                    what,
                    type(exc).__name__,
                    exc,
                    delay,
                )
                if stop.is_set():
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, self._audit_retry_max_s)
                continue
            if audit and self.stats.audit_paused:
                log.warning("audit log writable again: routing resumed")
                self.stats.audit_paused = False
            return True

    async def _write(self, messages: list[OutputMessage]) -> None:
        """Send every message and wait until Kafka has acknowledged all of them (audit records
        outside a batch, such as checkpoints and policy changes: one transaction per lane)."""
        if not messages:
            return
        producer = self._producer
        if producer is None:
            raise TransportError("runner not started")
        if self._lanes is None:
            await send_and_wait_all(producer, messages)
        else:
            by_lane: dict[int, list[OutputMessage]] = {}
            for m in messages:
                if m.topic != self._topics.audit or m.partition is None:
                    raise TransportError(
                        f"only audit records are written outside a batch: {m.topic}"
                    )
                by_lane.setdefault(m.partition, []).append(m)
            for lane, audit in sorted(by_lane.items()):
                await self._lanes.write(lane, audit)
        self.hooks.written(messages)

    def _require_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise TransportError("runner not started")
        return self._consumer


class _Backoff:
    """Delays between retries: 0.1 s doubling up to a maximum, reset after a success."""

    def __init__(self, maximum: float) -> None:
        self._maximum = maximum
        self._delay = 0.1

    def next(self) -> float:
        delay = self._delay
        self._delay = min(self._delay * 2, self._maximum)
        return delay

    def reset(self) -> None:
        self._delay = 0.1


class _RecallOnAssign(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Outermost rebalance listener: partitions given up are no longer covered by a recall, so
    if they come back their first records wait for a new one."""

    def __init__(self, runner: GatewayRunner, inner: ConsumerRebalanceListener) -> None:
        self._runner = runner
        self._inner = inner

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        self._runner._covered -= set(revoked)
        await self._inner.on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        await self._inner.on_partitions_assigned(assigned)


class _LaneRebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Outermost rebalance listener with transactions: lanes are opened (fencing their previous
    owners) and their partitions positioned at the settled committed offsets before anything
    else sees them, and closed only after the inner listeners wrote their last checkpoints."""

    def __init__(self, runner: GatewayRunner, inner: ConsumerRebalanceListener) -> None:
        self._runner = runner
        self._inner = inner

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        await self._inner.on_partitions_revoked(revoked)
        runner = self._runner
        assert runner._lanes is not None
        async with runner._audit.lock:
            await runner._lanes.close(runner._audit.audit_partitions(revoked))
            for tp in revoked:
                runner._next_offsets.pop(tp, None)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        runner = self._runner
        async with runner._audit.lock:
            try:
                await runner._take_lanes(assigned)
            except AUDIT_UNAVAILABLE as exc:
                log.warning("lanes not opened on assignment (%s); retried per batch", exc)
                runner._rewind |= runner._audit.audit_partitions(assigned)
        await self._inner.on_partitions_assigned(assigned)
