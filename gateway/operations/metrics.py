"""The gateway's Prometheus metrics: every definition in one place.

:class:`GatewayMetrics` is the processor's observer (:mod:`gateway.exchange.observer`) and the
runner's hooks (:mod:`gateway.transport.hooks`). Per record it only adds to plain dictionaries,
kept pending until the runner says the batch's outputs were acknowledged, so a batch given up
and read again is not counted twice; the counters are built from them when Prometheus scrapes.
State the gateway already holds (lag, audit chain heads, volume caps, the audit pause, the policy
version) is read at scrape time too, so it costs nothing between scrapes.

Label values are bounded: agreement and purpose ids as the policy set names them (anything the
audit log withholds as unknown becomes ``unknown``), outcomes, reason and error codes, topic
names, partition numbers and stage names. Subject keys, request ids and field values never
become labels.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from gateway.audit.chain import CHECKPOINT_KEY
from gateway.envelope.models import AuditStage
from gateway.exchange.messages import InputMessage, OutputMessage
from gateway.logs import KAFKA, KafkaReachability

if TYPE_CHECKING:
    from prometheus_client import Metric

    from gateway.transport.runner import GatewayRunner

__all__ = ["GatewayMetrics"]

STAGES = ("process", "audit_write", "produce", "commit", "transaction")
"""Timed stages of a batch. ``process`` is the pure core (decode, decide, redact, seal the audit
records), timed per batch: timing decode and decide apart per record would cost more than it
tells. With transactions, ``transaction`` (audit records, outputs and offsets written and committed
as one) takes the place of the three writing stages."""

# No ``_created`` series: the counters here start with the process.
disable_created_metrics()  # type: ignore[no-untyped-call]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000)

METRIC_NAMES = frozenset(
    {
        "dx_gateway_decisions_total",
        "dx_gateway_response_fields_total",
        "dx_gateway_dead_letters_total",
        "dx_gateway_records_in_total",
        "dx_gateway_records_out_total",
        "dx_gateway_batch_size_records",
        "dx_gateway_stage_duration_seconds",
        "dx_gateway_consumer_lag_records",
        "dx_gateway_assigned_partitions",
        "dx_gateway_audit_chain_head_sequence",
        "dx_gateway_audit_unsigned_records",
        "dx_gateway_audit_checkpoint_age_seconds",
        "dx_gateway_audit_log_unavailable",
        "dx_gateway_policy_info",
        "dx_gateway_policy_reloads_total",
        "dx_gateway_cap_used_requests",
        "dx_gateway_cap_limit_requests",
        "dx_gateway_kafka_reachable",
        "dx_gateway_kafka_client_errors_total",
    }
)
"""Every metric family the gateway exports (histograms add ``_bucket``, ``_sum``, ``_count``)."""


_DecisionKey = tuple[str, str, str, str]
_FieldCounts = tuple[tuple[tuple[str, str, str], int], ...]
_CLASSES_REMEMBERED = 4096


def _counts(fields: Mapping[str, Any]) -> tuple[_DecisionKey, _FieldCounts]:
    """The decision counter an audit record's ``fields`` count in, and the field counters."""
    agreement, purpose = _label(fields.get("agreement_id")), _label(fields.get("purpose"))
    reasons = fields.get("reasons")
    reason = reasons[0].code if reasons else ""
    field_counts = tuple(
        ((agreement, purpose, action), len(names))
        for action in ("released", "transformed", "withheld")
        if (names := fields.get(f"fields_{action}"))
    )
    return (agreement, purpose, str(fields["outcome"]), reason), field_counts


def _label(value: object) -> str:
    """An agreement or purpose id as a label: ``""`` for none, ``unknown`` for a value the
    audit log withholds (``<unknown: ...>``, ``<invalid: ...>``)."""
    if value is None:
        return ""
    text = str(value)
    return "unknown" if text.startswith("<") or len(text) > 64 else text


class _Timer:
    __slots__ = ("_began", "_histogram")

    def __init__(self, histogram: Any) -> None:
        self._histogram = histogram
        self._began = 0.0

    def __enter__(self) -> None:
        self._began = time.perf_counter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._histogram.observe(time.perf_counter() - self._began)


class GatewayMetrics:
    """The metrics of one gateway instance, in a registry of its own."""

    def __init__(self, kafka: KafkaReachability = KAFKA) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._kafka = kafka
        self._runner: GatewayRunner | None = None
        self._started = time.monotonic()
        self._decisions: dict[tuple[str, str, str, str], int] = {}
        self._fields: dict[tuple[str, str, str], int] = {}
        self._dead_letters: dict[str, int] = {}
        self._pending_decisions: dict[tuple[str, str, str, str], int] = {}
        self._pending_fields: dict[tuple[str, str, str], int] = {}
        self._pending_dead_letters: dict[str, int] = {}
        self._counts_by_class: dict[int, tuple[Mapping[str, Any], _DecisionKey, _FieldCounts]] = {}
        """What the audit fields of a compiled class count, by the fields' identity (the
        entry holds them, so the identity is not reused while it is remembered)."""
        self._records_in: dict[str, int] = {}
        self._records_out: dict[str, int] = {}
        self._committed: dict[tuple[str, int], int] = {}
        self._checkpointed: dict[int, float] = {}
        """Audit partition -> monotonic time its last checkpoint was acknowledged."""
        self._reloads = {"applied": 0, "rejected": 0}
        self._batch_size = Histogram(
            "dx_gateway_batch_size_records",
            "Records per batch the runner processed.",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        stages = Histogram(
            "dx_gateway_stage_duration_seconds",
            "Time one batch spent in each stage: process (the pure core), audit_write, produce, "
            "commit (retries included), or transaction in their place on Apache Kafka.",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._timers = {stage: _Timer(stages.labels(stage)) for stage in STAGES}
        self.registry.register(_Collector(self))
        ProcessCollector(registry=self.registry)

    def watch(self, runner: GatewayRunner) -> None:
        """Read lag, chains, caps, the audit pause and the policy from ``runner`` at scrape."""
        self._runner = runner
        runner.hooks = self
        runner.processor.observer = self

    def exposition(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)

    # --- the processor's observer ---------------------------------------------------------------

    def audited(self, stage: AuditStage, fields: Mapping[str, Any]) -> None:
        if stage is AuditStage.POLICY:
            return  # counted as reloads
        if type(fields) is MappingProxyType:  # a compiled class's: worked out once
            known = self._counts_by_class.get(id(fields))
            if known is None or known[0] is not fields:
                if len(self._counts_by_class) >= _CLASSES_REMEMBERED:
                    self._counts_by_class.clear()
                known = self._counts_by_class[id(fields)] = (fields, *_counts(fields))
            _, key, field_counts = known
        else:
            key, field_counts = _counts(fields)
        pending = self._pending_decisions
        pending[key] = pending.get(key, 0) + 1
        pending_fields = self._pending_fields
        for field_key, n in field_counts:
            pending_fields[field_key] = pending_fields.get(field_key, 0) + n

    def dead_lettered(self, msg: InputMessage, code: str) -> None:
        self._pending_dead_letters[code] = self._pending_dead_letters.get(code, 0) + 1

    # --- the runner's hooks ---------------------------------------------------------------------

    def batch_read(self, batch: Mapping[Any, Sequence[Any]]) -> None:
        size = 0
        records_in = self._records_in
        for tp, records in batch.items():
            records_in[tp.topic] = records_in.get(tp.topic, 0) + len(records)
            size += len(records)
        self._batch_size.observe(size)

    def timed(self, stage: str) -> AbstractContextManager[None]:
        return self._timers[stage]

    def written(self, messages: Sequence[OutputMessage]) -> None:
        out = self._records_out
        for m in messages:
            out[m.topic] = out.get(m.topic, 0) + 1
            if m.key == CHECKPOINT_KEY and m.partition is not None:
                self._checkpointed[m.partition] = time.monotonic()

    def settled(self, delivered: bool) -> None:
        if delivered:
            _merge(self._decisions, self._pending_decisions)
            _merge(self._fields, self._pending_fields)
            _merge(self._dead_letters, self._pending_dead_letters)
        self._pending_decisions.clear()
        self._pending_fields.clear()
        self._pending_dead_letters.clear()

    def committed(self, offsets: Mapping[Any, int]) -> None:
        for tp, offset in offsets.items():
            self._committed[tp.topic, tp.partition] = offset

    # --- policy reloads -------------------------------------------------------------------------

    def policy_reloaded(self, applied: bool) -> None:
        self._reloads["applied" if applied else "rejected"] += 1

    # --- what a scrape reads --------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        yield _counter(
            "dx_gateway_decisions",
            "Audit records of exchanges (and of input refused before one), by agreement, "
            "purpose, outcome and first reason code.",
            ("agreement", "purpose", "outcome", "reason"),
            self._decisions,
        )
        yield _counter(
            "dx_gateway_response_fields",
            "Field names released, transformed or withheld, by agreement and purpose.",
            ("agreement", "purpose", "action"),
            self._fields,
        )
        yield _counter(
            "dx_gateway_dead_letters",
            "Input sent to the dead-letter topic, by error code.",
            ("reason",),
            {(k,): v for k, v in self._dead_letters.items()},
        )
        yield _counter(
            "dx_gateway_records_in",
            "Records consumed, by input topic.",
            ("topic",),
            {(k,): v for k, v in self._records_in.items()},
        )
        yield _counter(
            "dx_gateway_records_out",
            "Records written and acknowledged, by output topic.",
            ("topic",),
            {(k,): v for k, v in self._records_out.items()},
        )
        yield _counter(
            "dx_gateway_policy_reloads",
            "Policy directory changes applied or rejected (the old set kept).",
            ("result",),
            {(k,): v for k, v in self._reloads.items()},
        )
        kafka = self._kafka
        yield _gauge(
            "dx_gateway_kafka_reachable",
            "1 unless the Kafka client reported a connection error in the last seconds.",
            float(kafka.reachable),
        )
        yield _counter(
            "dx_gateway_kafka_client_errors",
            "Errors the Kafka client logged (connections refused, fetches failed, ...).",
            (),
            {(): kafka.errors},
        )
        runner = self._runner
        if runner is not None:
            yield from self._runner_state(runner)

    def _runner_state(self, runner: GatewayRunner) -> Iterator[Metric]:
        yield _gauge(
            "dx_gateway_audit_log_unavailable",
            "1 while routing is paused because the audit log cannot be written (fail closed).",
            float(runner.stats.audit_paused),
        )
        yield _gauge(
            "dx_gateway_assigned_partitions",
            "Input partitions this instance owns.",
            float(runner.assigned()),
        )
        lag = GaugeMetricFamily(
            "dx_gateway_consumer_lag_records",
            "End offset minus committed offset, per owned input partition.",
            labels=("topic", "partition"),
        )
        for tp, end in sorted(runner.highwaters().items()):
            committed = self._committed.get((tp.topic, tp.partition))
            if end is not None and committed is not None:
                lag.add_metric((tp.topic, str(tp.partition)), max(end - committed, 0))
        yield lag
        chain = runner.processor.audit_chain
        heads = GaugeMetricFamily(
            "dx_gateway_audit_chain_head_sequence",
            "Sequence number the next message of each audit partition's chain gets.",
            labels=("partition",),
        )
        unsigned = GaugeMetricFamily(
            "dx_gateway_audit_unsigned_records",
            "Records after each audit partition's last signed checkpoint.",
            labels=("partition",),
        )
        age = GaugeMetricFamily(
            "dx_gateway_audit_checkpoint_age_seconds",
            "Seconds since this instance last wrote a signed checkpoint of each audit partition "
            "it writes (since it started, before its first).",
            labels=("partition",),
        )
        now = time.monotonic()
        pending = chain.unsigned()
        for partition in chain.partitions:
            label = (str(partition),)
            heads.add_metric(label, chain.head(partition).sequence)
            unsigned.add_metric(label, pending.get(partition, 0))
            age.add_metric(label, now - self._checkpointed.get(partition, self._started))
        yield heads
        yield unsigned
        yield age
        policy = runner.processor.policy
        info = InfoMetricFamily("dx_gateway_policy", "The policy set in force.")
        info.add_metric((), {"version": policy.version})
        yield info
        yield from _caps(runner)


class _Collector(Collector):
    def __init__(self, metrics: GatewayMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics.collect()


def _caps(runner: GatewayRunner) -> Iterator[Metric]:
    """Approvals against each volume cap, from the counters this instance owns (sum over
    instances: each cap is counted by one)."""
    used = GaugeMetricFamily(
        "dx_gateway_cap_used_requests",
        "Approvals counted against a volume cap in its current window, on this instance.",
        labels=("agreement", "purpose", "window"),
    )
    limit = GaugeMetricFamily(
        "dx_gateway_cap_limit_requests",
        "The volume cap itself.",
        labels=("agreement", "purpose", "window"),
    )
    processor = runner.processor
    policy, counters = processor.policy, list(processor.cap_counters.values())
    now = datetime.now(UTC)
    for agreement_id, purpose_id in sorted(policy.capped):
        agreement = policy.agreement(agreement_id)
        purpose = policy.purpose(agreement_id, purpose_id)
        if agreement is None or purpose is None or purpose.caps is None:
            continue
        key = (agreement_id, purpose_id, agreement.requester)
        hour = day = 0
        for counter in counters:
            h, d = counter.usage(key, now)
            hour, day = hour + h, day + d
        for window, count, cap in (
            ("hour", hour, purpose.caps.per_hour),
            ("day", day, purpose.caps.per_day),
        ):
            if cap is not None:
                used.add_metric((agreement_id, purpose_id, window), count)
                limit.add_metric((agreement_id, purpose_id, window), cap)
    yield used
    yield limit


def _merge(into: dict[Any, int], pending: Mapping[Any, int]) -> None:
    for key, n in pending.items():
        into[key] = into.get(key, 0) + n


def _counter(
    name: str, doc: str, labels: Sequence[str], values: Mapping[Any, int]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(key, value)
    return family


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)
