"""A message template filled in gives byte for byte the message the codec writes from the same
field values, whichever fields are holes and whatever they hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from gateway.envelope.binary import compile_template
from gateway.envelope.codec import Codec
from gateway.envelope.models import (
    AuditRecord,
    CappedRequest,
    DeadLetter,
    ExchangeRequest,
    ProviderResponse,
    Reply,
    RoutedRequest,
)
from gateway.errors import EnvelopeError, SchemaError

CODEC = Codec.default()
MODELS: list[type[BaseModel]] = [
    AuditRecord,
    CappedRequest,
    DeadLetter,
    ExchangeRequest,
    ProviderResponse,
    Reply,
    RoutedRequest,
]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TEXT = st.text(max_size=12)  # any code point: lengths are counted in UTF-8 bytes


def _values(avro: Any) -> st.SearchStrategy[Any]:
    """Values of one Avro type, as the gateway hands them to the codec."""
    if isinstance(avro, list):
        return st.none() | _values(avro[1])
    if isinstance(avro, str):
        avro = {"type": avro}
    kind = avro["type"]
    if kind == "long" and avro.get("logicalType") == "timestamp-millis":
        millis = st.integers(min_value=-(2**40), max_value=2**42)
        return millis.map(lambda ms: _EPOCH + timedelta(milliseconds=ms))
    simple: dict[str, st.SearchStrategy[Any]] = {
        "string": _TEXT,
        "bytes": st.binary(max_size=12),
        "long": st.integers(min_value=-(2**63), max_value=2**63 - 1),
        "boolean": st.booleans(),
    }
    if kind in simple:
        return simple[kind]
    if kind == "enum":
        return st.sampled_from(avro["symbols"])
    if kind == "array":
        return st.lists(_values(avro["items"]), max_size=3)
    if kind == "map":
        return st.dictionaries(_TEXT, _values(avro["values"]), max_size=3)
    if kind == "record":
        return st.fixed_dictionaries({f["name"]: _values(f["type"]) for f in avro["fields"]})
    raise AssertionError(f"no strategy for {avro!r}")


@st.composite
def _cases(draw: st.DrawFn) -> tuple[type[BaseModel], dict[str, Any], set[str]]:
    model = draw(st.sampled_from(MODELS))
    fields = CODEC.registry.get(f"dx.gateway.{model.__name__}").parsed["fields"]
    values = {f["name"]: draw(_values(f["type"])) for f in fields}
    holes = draw(st.sets(st.sampled_from([f["name"] for f in fields])))
    return model, values, holes


@given(_cases())
def test_a_filled_template_is_the_encoded_message(
    case: tuple[type[BaseModel], dict[str, Any], set[str]],
) -> None:
    model, values, holes = case
    constants = {k: v for k, v in values.items() if k not in holes}
    template = CODEC.template(model, constants, holes)

    assert template.fill({k: values[k] for k in holes}) == CODEC.encode_fields(model, values)


REPLY: dict[str, Any] = dict(
    requester="nhs",
    provider="ho",
    agreement_id="nhs-ho",
    purpose="care",
    outcome="DENIED",
    reasons=[{"code": "c", "message": "m"}],
    policy_version="v1",
)


def test_one_template_serves_many_messages_and_defaults_fill_constants_left_out() -> None:
    """Reply's list fields default to empty; only the holes change from message to message."""
    at = datetime(2024, 5, 1, tzinfo=UTC)
    constants = REPLY
    template = CODEC.template(Reply, constants, ("request_id", "replied_at"))
    for i in range(3):
        holes = {"request_id": f"r-{i}", "replied_at": at + timedelta(seconds=i)}
        assert template.fill(holes) == CODEC.encode_fields(Reply, {**constants, **holes})


def test_a_time_hole_filled_with_the_same_time_again_or_another_writes_each_rightly() -> None:
    """Timestamp holes remember the last time's encoding: a batch stamps all with one ``now``."""
    template = CODEC.template(Reply, {**REPLY, "request_id": "r"}, ("replied_at",))
    first, second = datetime(2024, 5, 1, tzinfo=UTC), datetime(2031, 1, 2, 3, tzinfo=UTC)
    for at in (first, first, second, first, datetime(2024, 5, 1, tzinfo=UTC), second):
        fields = {**REPLY, "request_id": "r", "replied_at": at}
        assert template.fill({"replied_at": at}) == CODEC.encode_fields(Reply, fields)


def test_a_naive_time_in_a_hole_is_refused_as_the_codec_refuses_it() -> None:
    template = CODEC.template(Reply, {**REPLY, "request_id": "r"}, ("replied_at",))
    with pytest.raises(EnvelopeError, match="Reply"):
        template.fill({"replied_at": datetime(2024, 5, 1)})


def test_a_constant_left_out_without_a_default_is_an_envelope_error() -> None:
    with pytest.raises(EnvelopeError, match="request_id"):
        CODEC.template(Reply, REPLY, ("replied_at",))


def test_a_hole_the_schema_does_not_have_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="no field"):
        compile_template(CODEC.registry.get("dx.gateway.Reply").parsed, ("colour",))
