"""Redaction compiled for a record layout gives what the general redaction and the JSON of its
result give, byte for byte and path for path: for every dataset's layout, random records (nulls,
empty and long lists, any text), random allow-lists (fields, records, lists, paths of the wrong
shape) and random transforms."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from gateway.envelope.codec import Codec
from gateway.envelope.datasets import DATASET_BY_PROVIDER, field_paths
from gateway.exchange.layouts import record_layout
from gateway.redaction import (
    compile_paths,
    compile_transforms,
    derive_pseudonym_key,
    parse_transform,
    redact,
)
from gateway.redaction.compiled import (
    FieldKind,
    LayoutField,
    compile_redaction,
    record_json,
)
from gateway.synthetic.datasets import generate

SCHEMAS = {name: Codec.default().registry.get(name).parsed for name in DATASET_BY_PROVIDER.values()}
KEY = derive_pseudonym_key(b"compiled-redaction-test-secret-0123", "any-agreement")
_TRANSFORMS = [
    "drop",
    "pseudonym",
    "generalise",
    {"generalise": {"band": 500}},
    {"mask": {"keep_last": 2}},
    {"truncate": 3},
]


def _values(field: LayoutField) -> st.SearchStrategy[Any]:
    """Values the codec could read for ``field``, and then some (any text, any size)."""
    if field.kind is FieldKind.TEXT:
        strategy: st.SearchStrategy[Any] = st.text(max_size=6)
    elif field.kind is FieldKind.FLAG:
        strategy = st.booleans()
    elif field.kind is FieldKind.NUMBER:
        strategy = st.integers(-(2**40), 2**40)
    elif field.kind is FieldKind.VALUE:
        strategy = st.one_of(
            st.dates(),
            st.datetimes(timezones=st.just(UTC)),
            st.floats(allow_nan=False),
            st.binary(max_size=4),
        )
    elif field.kind is FieldKind.RECORD:
        strategy = _records(field.fields)
    elif field.kind is FieldKind.LIST:
        assert field.items is not None
        strategy = st.lists(_values(field.items), max_size=3)
    else:
        strategy = st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2)
    return st.one_of(st.none(), strategy) if field.nullable else strategy


def _records(fields: tuple[LayoutField, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Records with ``fields`` in layout order, as the codec reads them."""
    names = [f.name for f in fields]
    return st.tuples(*(_values(f) for f in fields)).map(lambda v: dict(zip(names, v, strict=True)))


def _prefixes(path: str) -> list[str]:
    """``a[].b.c`` and every path above it: ``a[].b``, ``a[]``, ``a``."""
    found, text = [path], path
    while text:
        if text.endswith("[]"):
            text = text[:-2]
        elif "." in text:
            text = text.rsplit(".", 1)[0]
        else:
            break
        found.append(text)
    return found


@st.composite
def _cases(draw: st.DrawFn) -> tuple[str, tuple[LayoutField, ...], list[str], list[Any], Any]:
    name = draw(st.sampled_from(sorted(SCHEMAS)))
    schema = SCHEMAS[name]
    layout = record_layout(schema)
    known = sorted({p for leaf in field_paths(schema) for p in _prefixes(leaf)})
    wrong = ["nope", "surname.x", "address[]", "address[].town", "employments.employer_name"]
    allowed = draw(st.lists(st.sampled_from(known + wrong), max_size=6))
    rules = draw(
        st.lists(st.tuples(st.sampled_from(known), st.sampled_from(_TRANSFORMS)), max_size=3)
    )
    record = draw(_records(layout))
    return name, layout, allowed, rules, record


def _reference(record: Mapping[str, Any], allowed: list[str], rules: list[Any]) -> Any:
    paths = compile_paths(allowed)
    transforms = compile_transforms(
        [(path, parse_transform(spec)) for path, spec in rules], pseudonym_key=KEY
    )
    result = redact(record, paths, transforms=transforms)
    shape = (result.released, result.transformed, result.withheld)
    return record_json(result.record), shape, paths, transforms


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cases())
def test_compiled_redaction_gives_the_general_redactions_json_and_paths(case: Any) -> None:
    name, layout, allowed, rules, record = case
    try:
        text, shape, paths, transforms = _reference(record, allowed, rules)
    except ValueError:
        reject()  # paths or rules that disagree on shape: the policy loader refuses them

    compiled = compile_redaction(name, layout, paths, transforms)

    assert compiled(record) == (text, shape)


@pytest.mark.parametrize("provider", sorted(DATASET_BY_PROVIDER))
def test_every_providers_synthetic_records_redact_alike_under_their_whole_layout(
    provider: str,
) -> None:
    name = DATASET_BY_PROVIDER[provider]
    schema = SCHEMAS[name]
    codec = Codec.default()
    everything = compile_paths(field_paths(schema))
    compiled = compile_redaction(name, record_layout(schema), everything)
    for record in generate(provider, 40):
        read = codec.decode_record_as(
            codec.registry.get(name).header + _body(codec, name, record), name
        )
        text, shape, _, _ = _reference(read, list(everything.paths), [])

        assert compiled(read) == (text, shape)
        assert json.loads(text).keys() <= read.keys()


def _body(codec: Codec, name: str, record: Mapping[str, Any]) -> bytes:
    out: list[bytes] = []
    codec.registry.get(name).write(out, record)
    return b"".join(out)


def test_a_dataset_layout_names_each_field_with_its_kind() -> None:
    layout = {f.name: f for f in record_layout(SCHEMAS["dx.datasets.EmploymentAndProperty"])}

    assert layout["nino"] == LayoutField("nino", FieldKind.TEXT)
    assert layout["date_of_birth"].kind is FieldKind.VALUE
    assert layout["self_assessment"].kind is FieldKind.FLAG
    employments = layout["employments"]
    assert employments.kind is FieldKind.LIST
    assert employments.items is not None and employments.items.kind is FieldKind.RECORD
    end_date = {f.name: f for f in employments.items.fields}["end_date"]
    assert end_date == LayoutField("end_date", FieldKind.VALUE, nullable=True)
    address = {f.name: f for f in layout["properties"].items.fields}["address"]  # type: ignore[union-attr]
    assert [f.name for f in address.fields] == ["line1", "line2", "town", "postcode"]


def test_record_json_is_compact_ascii_with_iso_dates_and_hex_bytes() -> None:
    record = {"name": "Zoë", "born": date(2001, 2, 3), "at": datetime(2026, 1, 2, tzinfo=UTC)}

    assert record_json({**record, "raw": b"\x01\xff"}) == (
        '{"name":"Zo\\u00eb","born":"2001-02-03","at":"2026-01-02T00:00:00+00:00","raw":"01ff"}'
    )
