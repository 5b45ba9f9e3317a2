"""The processor's cost without Kafka: ``python -m gateway.bench.processor [--messages N]``.

The requests of ``gateway bench`` go through an :class:`ExchangeProcessor` built as ``gateway
run`` builds it, in batches of the runner's size; every request it routes is answered from the
synthetic datasets and the responses go through it too. Only the processor's calls are timed
(CPU time of this process). A second processor without decision classes (every request the
general way) takes the same batches, alternating with the first, so the two compare on the
same machine at the same moment (``reference``, ``speedup``). It also times one audit
record's encoding three ways: the generated Python code, the C reader the gateway reads with
where it was built (``c_read``), and fastavro's compiled schemaless writer and reader.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import time
import timeit
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from gateway import collector
from gateway.bench._workload import encode_requests
from gateway.departments import answer_from_dataset, build_response
from gateway.departments.answers import index_records
from gateway.envelope.binary import compile_reader
from gateway.envelope.codec import Codec
from gateway.envelope.datasets import SUBJECT_IDENTIFIER_BY_PROVIDER
from gateway.envelope.models import AuditRecord, RoutedRequest
from gateway.exchange.messages import BatchOutputs, InputMessage
from gateway.exchange.processor import ExchangeProcessor
from gateway.logs import configure_logging
from gateway.service import build_processor
from gateway.settings import GatewaySettings
from gateway.synthetic.datasets import DEFAULT_SEED, DEFAULT_SIZE, generate
from gateway.transport.topics import TopicNames

__all__ = ["main", "measure"]

_BATCH = 2000
_PARTITIONS = 8


def measure(messages: int, seed: int = DEFAULT_SEED, *, settle: bool = False) -> dict[str, Any]:
    """Microseconds of processor CPU per request and per response, and the codec comparison;
    with ``settle``, the garbage collector is set as ``gateway run`` sets it
    (:func:`gateway.collector.settle`, for this whole process) once the processors are built."""
    settings = GatewaySettings()
    codec = Codec.default()
    topics = TopicNames(settings.topic_prefix)
    processor = build_processor(settings, codec)
    reference = build_processor(settings, codec, decision_classes=0)
    if settle:
        collector.settle()
    for core in (processor, reference):
        core.set_audit_layout(_PARTITIONS)
    offsets: Counter[tuple[str, int]] = Counter()

    def arrived(topic: str, i: int, key: bytes | None, value: bytes) -> InputMessage:
        partition = i % _PARTITIONS
        offsets[topic, partition] += 1
        return InputMessage(topic, partition, offsets[topic, partition] - 1, key, value)

    now = datetime.now(UTC)
    inputs = encode_requests(messages, seed, topics, "localhost:9", codec)  # never connects
    requests = [arrived(m.topic, i, m.key, m.value) for i, m in enumerate(inputs.messages)]
    (request_s, reference_request_s), request_outs = _timed(processor, reference, requests, now)

    answer = {
        dept: answer_from_dataset(index_records(generate(dept, DEFAULT_SIZE), ident), ident)
        for dept, ident in SUBJECT_IDENTIFIER_BY_PROVIDER.items()
    }
    responses: list[InputMessage] = []
    for out in request_outs:
        for m in out.routed:
            parsed = topics.parse(m.topic)
            if parsed is None or parsed[0] != "inbox":
                continue
            routed = codec.decode(m.value, RoutedRequest)
            dept = parsed[1]
            response = build_response(routed, answer[dept](routed), responder=dept, codec=codec)
            topic = topics.responses(dept)
            responses.append(arrived(topic, len(responses), m.key, codec.encode(response)))
    (response_s, reference_response_s), response_outs = _timed(processor, reference, responses, now)

    dead_letters = sum(
        m.topic == topics.deadletter for out in request_outs + response_outs for m in out.routed
    )
    classes, responded = processor.decision_classes, processor.response_classes
    return {
        "requests": len(requests),
        "responses": len(responses),
        "dead_letters": dead_letters,
        **_per_record(request_s, response_s, len(requests), len(responses)),
        "reference": _per_record(
            reference_request_s, reference_response_s, len(requests), len(responses)
        ),
        "speedup": {
            "request": round(reference_request_s / max(request_s, 1e-9), 2),
            "response": round(reference_response_s / max(response_s, 1e-9), 2),
        },
        "decision_classes": {
            "compiled": classes.compiled,
            "hits": classes.hits,
            "hit_rate": round(classes.hits / max(len(requests), 1), 3),
            "responses": {
                "compiled": responded.compiled,
                "hits": responded.hits,
                "hit_rate": round(responded.hits / max(len(responses), 1), 3),
            },
        },
        "audit_record_codec_us": _codec_comparison(codec, now),
    }


def _per_record(
    request_s: float, response_s: float, requests: int, responses: int
) -> dict[str, float]:
    return {
        "request_us": round(request_s / max(requests, 1) * 1e6, 1),
        "response_us": round(response_s / max(responses, 1) * 1e6, 1),
        "processor_us_per_record": round(
            (request_s + response_s) / max(requests + responses, 1) * 1e6, 1
        ),
    }


def _timed(
    processor: ExchangeProcessor,
    reference: ExchangeProcessor,
    messages: Sequence[InputMessage],
    now: datetime,
) -> tuple[tuple[float, float], list[BatchOutputs]]:
    """CPU seconds of each processor over ``messages``, batch by batch, taking turns at going
    first; and the first one's outputs."""
    gc.collect()
    outs, spent = [], [0.0, 0.0]
    for n, start in enumerate(range(0, len(messages), _BATCH)):
        batch = messages[start : start + _BATCH]
        for which in (0, 1) if n % 2 == 0 else (1, 0):
            core = processor if which == 0 else reference
            began = time.process_time()
            out = core.process_batch(batch, now)
            spent[which] += time.process_time() - began
            if which == 0:
                outs.append(out)
    return (spent[0], spent[1]), outs


def _codec_comparison(codec: Codec, now: datetime) -> dict[str, float]:
    """One typical audit record written and read by our generated code (and read by the C
    reader) and by fastavro."""
    schema = codec.registry.get(f"dx.gateway.{AuditRecord.__name__}")
    record: dict[str, Any] = dict(
        prev_hash="ab" * 32,
        sequence=123_456,
        decision_id="0f" * 16,
        request_id="nhs-7d0c2a9e41b84f0d",
        stage="REQUEST",
        at=now,
        sent_at=now,
        requester="nhs",
        provider="ho",
        agreement_id="nhs-ho-status-check",
        purpose="overseas-visitor-charging",
        outcome="APPROVED_MINIMISED",
        reasons=[{"code": "purpose.allowed", "message": "The purpose is allowed."}],
        fields_requested=["immigration_status", "leave_expiry", "nationality"],
        fields_released=["person_id"],
        fields_transformed=[],
        fields_withheld=["surname"],
        subject_key="5e" * 16,
        policy_version="3f2a9c01d2e4",
        input_topic="dx.requests.nhs",
        input_partition=3,
        input_offset=1_234_567,
        gateway_instance="gw-1",
    )

    def ours() -> bytes:
        out: list[bytes] = []
        schema.write(out, record)
        return b"".join(out)

    def theirs() -> bytes:
        buffer = io.BytesIO()
        schemaless_writer(buffer, schema.parsed, record)
        return buffer.getvalue()

    body = ours()
    if theirs() != body:
        raise AssertionError("generated and fastavro encodings differ")
    n = 20_000
    python_read = compile_reader(schema.parsed, native=False)
    return {
        "generated_write": _us(ours, n),
        "fastavro_write": _us(theirs, n),
        "generated_read": _us(lambda: python_read(body, 0), n),
        "c_read": _us(lambda: schema.read(body, 0), n),
        "fastavro_read": _us(lambda: schemaless_reader(io.BytesIO(body), schema.parsed), n),
    }


def _us(call: Any, n: int) -> float:
    return round(min(timeit.repeat(call, number=n, repeat=3)) / n * 1e6, 1)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.bench.processor", description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000, help="requests to process")
    args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error("--messages must be at least 1")
    configure_logging(level=logging.ERROR)  # not the development-secret warnings
    print(json.dumps(measure(args.messages, settle=True), indent=2))


if __name__ == "__main__":
    main()
