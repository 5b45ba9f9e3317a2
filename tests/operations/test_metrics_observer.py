"""The metrics observer counts an audit record's fields alike however they come: a fresh dict
from the general path, or the read-only fields a compiled class gives for each of its records."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gateway.envelope.models import AuditOutcome, AuditStage, Reason
from gateway.operations.metrics import GatewayMetrics


def _fields(agreement: str, released: list[str]) -> dict[str, Any]:
    return {
        "agreement_id": agreement,
        "purpose": "status-check",
        "outcome": AuditOutcome.RELEASED,
        "reasons": [Reason(code="purpose.allowed", message="allowed")],
        "fields_released": released,
        "fields_transformed": [],
        "fields_withheld": ["surname"],
    }


def _counted(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    metrics.settled(delivered=True)
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        if family.name in ("dx_gateway_decisions", "dx_gateway_response_fields")
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def test_a_compiled_class_counts_as_the_same_records_given_as_dicts() -> None:
    general, compiled = GatewayMetrics(), GatewayMetrics()
    shared = MappingProxyType(_fields("a-1", ["nationality", "status"]))
    other = MappingProxyType(_fields("a-2", ["status"]))
    for _ in range(3):
        general.audited(AuditStage.RESPONSE, _fields("a-1", ["nationality", "status"]))
        compiled.audited(AuditStage.RESPONSE, shared)
    general.audited(AuditStage.RESPONSE, _fields("a-2", ["status"]))
    compiled.audited(AuditStage.RESPONSE, other)

    counted = _counted(compiled)
    assert counted == _counted(general)
    released = {k: v for k, v in counted.items() if ("action", "released") in k[1]}
    assert sorted(released.values()) == [1.0, 6.0]
