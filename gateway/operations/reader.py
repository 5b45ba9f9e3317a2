"""Takes :class:`~gateway.operations.snapshot.ClusterSnapshot` s of one cluster and topic prefix.

A :class:`ClusterReader` keeps its Kafka clients and what it has read between snapshots, so a
view refreshed every few seconds reads only what is new:

- input partitions: earliest and end offsets, and each group's committed offsets, asked of the
  admin API (``OffsetFetch`` for the whole group) or, where the broker does not answer that (the
  embedded one), of a group-less consumer's ``committed()`` per partition;
- the audit topic's last hour: the first snapshot seeks each partition to the offset
  ``offsets_for_times`` gives for an hour ago; a broker that cannot look offsets up by time (the
  embedded one answers "none" even for records it holds) is read from at most ``tail_limit``
  records before the end, and the snapshot says so. Later snapshots read on from where the last
  stopped. Records are decoded with the project's codec, the hash chain is followed through
  what is read, and each checkpoint's signature is checked;
- the dead-letter topic: its size and its newest records (payloads are never kept).

Consumers here never join a group, so taking snapshots moves nobody's offsets.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.chain import UNCHAINED_SEQUENCE, read_link
from gateway.audit.checkpoint import checkpoint_problem, load_public_key
from gateway.audit.follow import ChainFollower
from gateway.envelope.codec import Codec
from gateway.envelope.models import AuditCheckpoint, DeadLetter
from gateway.errors import ChainBrokenError, DecodeError, EnvelopeError, TransportError
from gateway.operations.snapshot import (
    AuditPartitionStatus,
    ClusterSnapshot,
    DeadLetterNote,
    DeadLetters,
    GroupOffset,
    InputPartition,
)
from gateway.operations.window import WINDOW, DecisionWindow
from gateway.transport.read_back import last_records, read_to_ends
from gateway.transport.topics import READ_COMMITTED, TopicNames

__all__ = ["ClusterReader"]

log = logging.getLogger("gateway.operations")

DEFAULT_GROUP = "dx-gateway"
_RECORD_SCHEMA = "dx.gateway.AuditRecord"
_MAX_PROBLEMS = 5
_CHECKPOINT_SEARCH = 5000
"""How far before the hour's first record to look for a partition's last checkpoint (the gateway
writes one every 1000 records at most)."""
_CHUNK = 1000


class _AuditPartition:
    """What the reader knows of one audit partition between snapshots."""

    __slots__ = ("checkpoint", "head", "next_offset", "problems", "searched")

    def __init__(self) -> None:
        self.head: int | None = None
        self.checkpoint: tuple[int, datetime, bool] | None = None
        """(sequence, time, signature valid) of the last checkpoint read."""
        self.next_offset: int | None = None
        self.problems: list[str] = []
        self.searched = False


class ClusterReader:
    """Snapshots of one cluster and prefix; ``async with ClusterReader(...) as reader``."""

    def __init__(
        self,
        bootstrap: str,
        *,
        prefix: str = "dx",
        groups: Sequence[str] = (DEFAULT_GROUP,),
        departments: Sequence[str] | None = None,
        dead_letters: int = 10,
        public_key: Ed25519PublicKey | None = None,
        tail_limit: int = 200_000,
        timeout_s: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        codec: Codec | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = TopicNames(prefix)
        self.groups = tuple(dict.fromkeys(groups)) or (DEFAULT_GROUP,)
        self._departments = tuple(departments) if departments else None
        self._dead_letter_count = dead_letters
        self._key = public_key or load_public_key()
        self._tail_limit = tail_limit
        self._timeout_s = timeout_s
        self._clock = clock
        self._codec = codec or Codec.default()
        registry = self._codec.registry
        self._record_header = registry.get(_RECORD_SCHEMA).header
        self._checkpoint_header = registry.get(f"dx.gateway.{AuditCheckpoint.__name__}").header
        self._meta = self._consumer()
        self._audit_consumer = self._consumer()
        self._group_consumers: dict[str, AIOKafkaConsumer] = {}
        self._admin: AIOKafkaAdminClient | None = None
        self._admin_works: bool | None = None
        self._cluster: Any = None
        self._started = False
        self._window = DecisionWindow()
        self._follower = ChainFollower(codec=self._codec)
        self._audit: dict[int, _AuditPartition] = {}
        self._read_from: datetime | None = None
        self._tail_notes: list[str] = []
        self._dead_letter_cache: tuple[dict[TopicPartition, int], tuple[DeadLetterNote, ...]] = (
            {},
            (),
        )
        self._dead_letters_counted: dict[TopicPartition, tuple[int, int]] = {}
        """Per dead-letter partition: the offset counted up to, and how many records it held."""

    # --- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect; :class:`TransportError` (one line, no traceback) when Kafka is unreachable."""
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._meta.start()
                await self._audit_consumer.start()
        except (KafkaError, OSError, TimeoutError) as exc:
            await self.stop()
            why = (
                f"no answer within {self._timeout_s:g}s"
                if isinstance(exc, TimeoutError)
                else "no broker answered"
                if isinstance(exc, KafkaConnectionError)
                else _say(exc)
            )
            raise TransportError(f"cannot reach Kafka at {self.bootstrap}: {why}") from None
        self._started = True

    async def stop(self) -> None:
        self._started = False
        clients: list[Any] = [self._meta, self._audit_consumer, *self._group_consumers.values()]
        self._group_consumers.clear()
        for client in clients:
            await client.stop()
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- snapshots --------------------------------------------------------------------------

    async def snapshot(self) -> ClusterSnapshot:
        """The cluster as it is now; :class:`TransportError` when Kafka stops answering."""
        if not self._started:
            raise TransportError("the cluster reader is not started")
        try:
            return await self._snapshot()
        except KafkaError as exc:
            raise TransportError(f"reading {self.bootstrap}: {_say(exc)}") from None
        except TimeoutError:
            raise TransportError(
                f"reading {self.bootstrap}: no answer within {self._timeout_s:g}s"
            ) from None

    async def _snapshot(self) -> ClusterSnapshot:
        now = self._clock()
        notes: list[str] = []
        async with asyncio.timeout(self._timeout_s):
            # Every topic with its partitions, in one metadata request; the consumer's own cache
            # holds only topics it was asked about, and there is no public way to fill it.
            self._cluster = await self._meta._client.fetch_all_metadata()
        existing: set[str] = set(self._cluster.topics())
        departments = self._departments or tuple(
            sorted(
                {
                    parsed[1]
                    for name in existing
                    if (parsed := self.topics.parse(name)) is not None
                    and parsed[0] in ("requests", "responses")
                }
            )
        )
        inputs = await self._inputs(departments, existing, notes)
        audit = await self._read_audit(existing, now, notes)
        dead = await self._dead_letters(existing, notes)
        self._window.prune(now)
        read_from = None
        if self._read_from is not None:
            read_from = max(self._read_from, now - WINDOW)
        return ClusterSnapshot(
            bootstrap=self.bootstrap,
            prefix=self.topics.prefix,
            taken_at=now,
            groups=self.groups,
            departments=departments,
            inputs=inputs,
            decisions=self._window.decisions(now),
            reasons=self._window.reasons(now),
            dead_letters=dead,
            audit=audit,
            policy_versions=self._window.policy_versions(now),
            audit_read_from=read_from,
            notes=(*notes, *self._tail_notes),
        )

    # --- input partitions -------------------------------------------------------------------

    async def _inputs(
        self, departments: Sequence[str], existing: set[str], notes: list[str]
    ) -> tuple[InputPartition, ...]:
        wanted: list[tuple[str, str, str | None]] = []
        for dept in departments:
            wanted.append((self.topics.requests(dept), "requests", dept))
            wanted.append((self.topics.responses(dept), "responses", dept))
        wanted.append((self.topics.capped, "capped", None))
        present = [w for w in wanted if w[0] in existing]
        missing = [w[0] for w in wanted if w[0] not in existing]
        if missing:
            notes.append(f"input topics missing: {', '.join(missing)}")
        tps = [TopicPartition(topic, p) for topic, _, _ in present for p in self._partitions(topic)]
        if not tps:
            return ()
        async with asyncio.timeout(self._timeout_s):
            begins = await self._meta.beginning_offsets(tps)
            ends = await self._meta.end_offsets(tps)
            committed = {g: await self._committed(g, tps) for g in self.groups}
        kinds = {topic: (kind, dept) for topic, kind, dept in present}
        out = []
        for tp in tps:
            kind, department = kinds[tp.topic]
            groups = []
            for group in self.groups:
                offset = committed[group].get(tp)
                base = begins[tp] if offset is None else max(offset, begins[tp])
                groups.append(GroupOffset(group, offset, max(ends[tp] - base, 0)))
            out.append(
                InputPartition(
                    tp.topic, kind, department, tp.partition, begins[tp], ends[tp], tuple(groups)
                )
            )
        return tuple(out)

    async def _committed(
        self, group: str, tps: Sequence[TopicPartition]
    ) -> dict[TopicPartition, int | None]:
        if self._admin_works is not False:
            try:
                return await self._committed_by_admin(group, tps)
            except (KafkaError, TypeError) as exc:
                # The embedded broker answers a whole-group OffsetFetch with nothing aiokafka can
                # read (a TypeError inside it); a broker that answered before has a real problem.
                if self._admin_works:
                    raise
                log.debug("admin OffsetFetch unsupported (%s); asking per partition", exc)
                self._admin_works = False
                if self._admin is not None:
                    await self._admin.close()
                    self._admin = None
        consumer = self._group_consumers.get(group)
        if consumer is None:
            consumer = self._consumer(group_id=group)
            await consumer.start()
            self._group_consumers[group] = consumer
        return {tp: await consumer.committed(tp) for tp in tps}

    async def _committed_by_admin(
        self, group: str, tps: Sequence[TopicPartition]
    ) -> dict[TopicPartition, int | None]:
        if self._admin is None:
            self._admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                request_timeout_ms=int(self._timeout_s * 1000),
            )
            await self._admin.start()
        offsets = await self._admin.list_consumer_group_offsets(group)
        self._admin_works = True
        found = {}
        for tp in tps:
            meta = offsets.get(tp)
            found[tp] = meta.offset if meta is not None and meta.offset >= 0 else None
        return found

    # --- the audit topic --------------------------------------------------------------------

    async def _read_audit(
        self, existing: set[str], now: datetime, notes: list[str]
    ) -> tuple[AuditPartitionStatus, ...]:
        topic = self.topics.audit
        if topic not in existing:
            notes.append(f"audit topic {topic} is missing")
            return ()
        numbers = self._partitions(topic)
        tps = [TopicPartition(topic, p) for p in numbers]
        consumer = self._audit_consumer
        async with asyncio.timeout(self._timeout_s):
            begins = await self._meta.beginning_offsets(tps)
            ends = await self._meta.end_offsets(tps)
        if set(numbers) != set(self._audit):
            await self._start_tail(tps, begins, ends, now)
        await self._drain_audit(consumer, ends)
        await self._find_checkpoints(tps, begins)
        statuses = []
        for tp in tps:
            state = self._audit[tp.partition]
            checkpoint = state.checkpoint
            statuses.append(
                AuditPartitionStatus(
                    partition=tp.partition,
                    begin=begins[tp],
                    end=ends[tp],
                    head_sequence=state.head,
                    checkpoint_sequence=checkpoint[0] if checkpoint else None,
                    checkpoint_at=checkpoint[1] if checkpoint else None,
                    checkpoint_age_s=(now - checkpoint[1]).total_seconds() if checkpoint else None,
                    checkpoint_valid=checkpoint[2] if checkpoint else None,
                    problems=tuple(state.problems),
                )
            )
        return tuple(statuses)

    async def _start_tail(
        self,
        tps: Sequence[TopicPartition],
        begins: Mapping[TopicPartition, int],
        ends: Mapping[TopicPartition, int],
        now: datetime,
    ) -> None:
        """Position the audit consumer an hour back in every partition (see the module docs)."""
        since = now - WINDOW
        since_ms = int(since.timestamp() * 1000)
        self._audit = {tp.partition: _AuditPartition() for tp in tps}
        self._follower = ChainFollower(codec=self._codec)
        self._window = DecisionWindow()
        self._tail_notes = []
        self._read_from = since
        filled = [tp for tp in tps if ends[tp] > begins[tp]]
        consumer = self._audit_consumer
        consumer.assign(list(tps))
        try:
            async with asyncio.timeout(self._timeout_s):
                found = await consumer.offsets_for_times({tp: since_ms for tp in filled})
        except KafkaError:
            found = {}
        newest = await self._last_records(filled, begins, ends)
        truncated = []
        for tp in tps:
            start = ends[tp]
            hit = found.get(tp)
            if hit is not None:
                start = hit.offset
            elif tp in newest and newest[tp].timestamp >= since_ms:
                # Records of the last hour exist, yet the broker found none: it cannot look
                # offsets up by time. Read a bounded tail instead.
                start = max(begins[tp], ends[tp] - self._tail_limit)
                if start > begins[tp]:
                    truncated.append(tp.partition)
            elif tp in newest:
                start = newest[tp].offset  # nothing in the hour: the last message, for its head
            consumer.seek(tp, start)
            self._audit[tp.partition].next_offset = start
        if truncated:
            self._read_from = None  # set from the first record read
            self._tail_notes.append(
                f"this broker cannot find offsets by time: counts cover the last "
                f"{self._tail_limit} audit messages of partition(s) "
                f"{', '.join(map(str, truncated))}"
            )

    async def _last_records(
        self,
        tps: Sequence[TopicPartition],
        begins: Mapping[TopicPartition, int],
        ends: Mapping[TopicPartition, int],
    ) -> dict[TopicPartition, Any]:
        """Each partition's last message (read by the meta consumer)."""
        if not tps:
            return {}
        self._meta.assign(list(tps))
        async with asyncio.timeout(self._timeout_s):
            return await last_records(
                self._meta, {tp: begins[tp] for tp in tps}, {tp: ends[tp] for tp in tps}
            )

    async def _drain_audit(
        self, consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]
    ) -> None:
        async for tp, record in self._drain(consumer, ends):
            self._feed(tp.partition, record.offset, record.value)

    def _feed(self, partition: int, offset: int, value: bytes) -> None:
        state = self._audit[partition]
        digest = hashlib.sha256(value).hexdigest()
        problem = self._follower.follow(partition, value, digest, offset)
        if problem is not None and state.next_offset is not None and offset != state.next_offset:
            # Offsets skipped and the chain does not go on across them: retention deleted what
            # was not read (transaction markers skip offsets too, but the chain goes on there).
            self._follower.resume({p: h for p, h in self._follower.heads.items() if p != partition})
            problem = self._follower.follow(partition, value, digest, offset)
        state.next_offset = offset + 1
        if problem is not None and len(state.problems) < _MAX_PROBLEMS:
            state.problems.append(f"offset {offset}: {problem}")
        try:
            _, sequence = read_link(value)
            state.head = None if sequence == UNCHAINED_SEQUENCE else sequence
        except ChainBrokenError:
            pass
        try:
            if value.startswith(self._record_header):
                fields = self._codec.decode_record_as(value, _RECORD_SCHEMA)
                if self._read_from is None:
                    self._read_from = fields["at"]
                self._window.add(fields)
            elif value.startswith(self._checkpoint_header):
                state.checkpoint = self._checkpoint(value)
        except EnvelopeError as exc:
            if len(state.problems) < _MAX_PROBLEMS:
                state.problems.append(f"offset {offset}: {exc}")

    def _checkpoint(self, value: bytes) -> tuple[int, datetime, bool]:
        checkpoint = self._codec.decode(value, AuditCheckpoint)
        valid = checkpoint_problem(checkpoint, self._key) is None
        return checkpoint.sequence, checkpoint.at, valid

    async def _find_checkpoints(
        self, tps: Sequence[TopicPartition], begins: Mapping[TopicPartition, int]
    ) -> None:
        """For partitions whose tail held no checkpoint, look further back, once."""
        for tp in tps:
            state = self._audit[tp.partition]
            if state.checkpoint is not None or state.searched:
                continue
            state.searched = True
            first_read = state.next_offset or 0
            high = first_read
            low_limit = max(begins[tp], first_read - _CHECKPOINT_SEARCH)
            while high > low_limit and state.checkpoint is None:
                low = max(low_limit, high - _CHUNK)
                found: tuple[int, datetime, bool] | None = None
                async for _, record in self._read_ranges(self._meta, {tp: (low, high)}):
                    if record.value.startswith(self._checkpoint_header):
                        try:
                            found = self._checkpoint(record.value)
                        except DecodeError:
                            continue
                state.checkpoint = found
                high = low

    # --- dead letters -----------------------------------------------------------------------

    async def _dead_letters(self, existing: set[str], notes: list[str]) -> DeadLetters:
        topic = self.topics.deadletter
        if topic not in existing:
            notes.append(f"dead-letter topic {topic} is missing")
            return DeadLetters(0, ())
        tps = [TopicPartition(topic, p) for p in self._partitions(topic)]
        async with asyncio.timeout(self._timeout_s):
            begins = await self._meta.beginning_offsets(tps)
            ends = await self._meta.end_offsets(tps)
        total = await self._count_dead_letters(begins, ends)
        cached_ends, latest = self._dead_letter_cache
        if cached_ends != ends:
            n = self._dead_letter_count
            ranges = {
                tp: (max(begins[tp], ends[tp] - n), ends[tp]) for tp in tps if ends[tp] > begins[tp]
            }
            found = [
                self._dead_letter_note(tp.partition, r.offset, r.value)
                async for tp, r in self._read_ranges(self._meta, ranges)
            ]
            epoch = datetime.min.replace(tzinfo=UTC)
            found.sort(key=lambda d: (d.at or epoch, d.partition, d.offset), reverse=True)
            latest = tuple(found[:n])
            self._dead_letter_cache = (dict(ends), latest)
        return DeadLetters(total, latest)

    async def _count_dead_letters(
        self, begins: Mapping[TopicPartition, int], ends: Mapping[TopicPartition, int]
    ) -> int:
        """How many dead letters the topic holds. Offsets cannot say: transaction markers take
        offsets too. Each snapshot counts only what was written since the last one."""
        counted = self._dead_letters_counted
        ranges = {}
        for tp, end in ends.items():
            upto, _ = counted.get(tp, (begins[tp], 0))
            if upto < begins[tp]:  # retention deleted records since: count afresh
                upto, counted[tp] = begins[tp], (begins[tp], 0)
            if upto < end:
                ranges[tp] = (upto, end)
        seen = dict.fromkeys(ranges, 0)
        async for tp, _ in self._read_ranges(self._meta, ranges):
            seen[tp] += 1
        for tp, (_, end) in ranges.items():
            counted[tp] = (end, counted.get(tp, (0, 0))[1] + seen[tp])
        return sum(counted[tp][1] for tp in ends if tp in counted)

    def _dead_letter_note(self, partition: int, offset: int, value: bytes) -> DeadLetterNote:
        try:
            letter = self._codec.decode(value, DeadLetter)
        except EnvelopeError as exc:
            return DeadLetterNote(
                None, "", -1, -1, "undecodable", f"not a dead letter: {exc}", "", partition, offset
            )
        return DeadLetterNote(
            at=letter.at,
            input_topic=letter.input_topic,
            input_partition=letter.input_partition,
            input_offset=letter.input_offset,
            error_code=letter.error_code,
            reason=letter.reason,
            gateway_instance=letter.gateway_instance,
            partition=partition,
            offset=offset,
        )

    # --- reading ----------------------------------------------------------------------------

    def _partitions(self, topic: str) -> list[int]:
        return sorted(self._cluster.partitions_for_topic(topic) or ())

    def _consumer(self, **config: Any) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level=READ_COMMITTED,
            fetch_max_wait_ms=50,
            request_timeout_ms=max(int(self._timeout_s * 1000), 1000),
            connections_max_idle_ms=540_000,
            **config,
        )

    async def _read_ranges(
        self, consumer: AIOKafkaConsumer, ranges: Mapping[TopicPartition, tuple[int, int]]
    ) -> AsyncIterator[tuple[TopicPartition, Any]]:
        """Records in ``[start, end)`` of each partition, assigning ``consumer`` to them."""
        wanted = {tp: span for tp, span in ranges.items() if span[1] > span[0]}
        if not wanted:
            return
        consumer.assign(list(wanted))
        for tp, (start, _) in wanted.items():
            consumer.seek(tp, start)
        async for tp, record in self._drain(consumer, {tp: end for tp, (_, end) in wanted.items()}):
            yield tp, record

    async def _drain(
        self, consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]
    ) -> AsyncIterator[tuple[TopicPartition, Any]]:
        """Records of assigned partitions from their positions up to ``ends`` (exclusive);
        ``TimeoutError`` after ``timeout_s`` without progress."""
        async for tp, records in read_to_ends(consumer, ends, idle_timeout=self._timeout_s):
            for record in records:
                yield tp, record


async def take_snapshot(bootstrap: str, **options: Any) -> ClusterSnapshot:
    """One snapshot with a reader of its own (options as for :class:`ClusterReader`)."""
    async with ClusterReader(bootstrap, **options) as reader:
        return await reader.snapshot()


def _say(exc: BaseException) -> str:
    """An exception as one line."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
