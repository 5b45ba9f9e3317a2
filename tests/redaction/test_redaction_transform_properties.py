"""Properties of transforms over random values, records and transform plans."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from hypothesis import given, reject, settings
from hypothesis import strategies as st

from gateway.redaction import (
    TransformSpec,
    compile_paths,
    compile_transforms,
    derive_pseudonym_key,
    leaf_paths,
    parse_path,
    parse_transform,
    redact,
)
from gateway.redaction.transforms import generalise, mask, pseudonymise, truncate

KEY = derive_pseudonym_key(b"property-test-secret-0123456789", "any-agreement")

# Realistic text: identifiers, names and codes are never empty and never made of mask characters.
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="*", exclude_categories=("Cs",)),
    min_size=1,
    max_size=12,
)
_POSTCODE = st.builds(
    lambda area, district, sector, unit: f"{area}{district} {sector}{unit}",
    st.sampled_from(["LS", "M", "SW", "B", "EH", "CF"]),
    st.integers(1, 99),
    st.integers(0, 9),
    st.text(alphabet="ABDEFGHJLNPQRSTUWXYZ", min_size=2, max_size=2),
)
_NUMBERS = st.one_of(st.integers(-(10**9), 10**9), st.floats(-1e9, 1e9, allow_nan=False))
_DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@settings(max_examples=300, deadline=None)
@given(_TEXT, st.integers(0, 5), st.integers(0, 5))
def test_mask_never_returns_the_value_and_keeps_its_length(
    value: str, first: int, last: int
) -> None:
    masked = mask(value, first, last)
    assert masked != value
    assert len(masked) == len(value)


@settings(max_examples=300, deadline=None)
@given(_TEXT, st.integers(1, 20))
def test_truncate_never_returns_the_value(value: str, length: int) -> None:
    cut = truncate(value, length)
    assert cut != value
    assert value.startswith(cut)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TEXT, _NUMBERS, _DATES, _POSTCODE), st.integers(1, 10**6))
def test_generalise_never_returns_the_value(value: Any, band: int) -> None:
    assert generalise(value, band) != value


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TEXT, st.integers()))
def test_a_pseudonym_never_contains_the_value(value: Any) -> None:
    pseudonym = pseudonymise(KEY, value)
    assert pseudonym != value
    assert str(value) not in pseudonym[3:] or len(str(value)) < 4


# --- redaction with random plans ------------------------------------------------------------

_NAMES = st.sampled_from(["a", "b", "c", "d"])
_SCALARS = st.one_of(st.none(), _TEXT, _POSTCODE, _NUMBERS, _DATES, st.booleans())
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_NAMES, inner, max_size=4)
    ),
    max_leaves=20,
)
_RECORDS = st.dictionaries(_NAMES, _VALUES, max_size=4)
_SPECS = st.sampled_from(
    [
        {"mask": {"keep_last": 2}},
        {"mask": {"keep_first": 1}},
        {"truncate": 3},
        "pseudonym",
        "generalise",
        {"generalise": {"band": 100}},
        "drop",
    ]
).map(parse_transform)


def _prefixes(path: str) -> list[str]:
    """``a[].b`` -> ``a``, ``a[]``, ``a[].b``."""
    out, head = [], ""
    for part in path.split("."):
        base = part.removesuffix("[]")
        head = f"{head}.{base}" if head else base
        out.append(head)
        if part.endswith("[]"):
            head += "[]"
            out.append(head)
    return out


def _inside(leaf: str, path: str) -> bool:
    return leaf == path or leaf.startswith((path + ".", path + "["))


def _pairs(raw: Any, released: Any, segments: tuple[Any, ...]) -> Iterator[tuple[Any, Any]]:
    """(input value, output value) pairs at a path, matched position by position; a list whose
    output lost elements cannot be matched and is skipped."""
    if not segments:
        yield raw, released
        return
    seg, rest = segments[0], segments[1:]
    if not isinstance(raw, dict) or not isinstance(released, dict) or seg.name not in released:
        return
    before, after = raw.get(seg.name), released[seg.name]
    if not seg.array:
        yield from _pairs(before, after, rest)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for x, y in zip(before, after, strict=True):
            yield from _pairs(x, y, rest)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[str], list[tuple[str, TransformSpec]]]:
    record = draw(_RECORDS)
    candidates = sorted({p for leaf in leaf_paths(record) for p in _prefixes(leaf) if p})
    if not candidates:
        return record, [], []
    allowed = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3))
    rules = draw(
        st.lists(
            st.tuples(st.sampled_from(candidates), _SPECS), max_size=3, unique_by=lambda r: r[0]
        )
    )
    return record, allowed, rules


@settings(max_examples=400, deadline=None)
@given(_cases())
def test_transforms_release_nothing_outside_the_allow_list_and_never_a_raw_value(
    case: tuple[dict[str, Any], list[str], list[tuple[str, TransformSpec]]],
) -> None:
    record, allowed, rules = case
    try:
        paths = compile_paths(allowed)
        plan = compile_transforms(rules, pseudonym_key=KEY)
    except ValueError:  # random paths may overlap or disagree on whether a field is a list
        reject()
    result = redact(record, paths, transforms=plan)

    output_leaves = set(leaf_paths(result.record))
    dropped = [path for path, spec in rules if spec.name == "drop"]
    assert all(any(_inside(leaf, p) for p in paths.paths) for leaf in output_leaves)
    assert not any(_inside(leaf, d) for leaf in output_leaves for d in dropped)
    assert output_leaves <= set(result.released)
    # Every input leaf is accounted for. (A path may be both released and withheld when the
    # elements of one list differ in shape, which no schema-checked record does.)
    assert set(result.released) | set(result.withheld) == set(leaf_paths(record))

    for path, spec in rules:
        if spec.name == "drop":
            continue
        for raw, released in _pairs(record, result.record, parse_path(path)):
            assert not isinstance(released, dict | list), (path, released)
            if raw is not None:
                assert released != raw, (path, spec.name, raw)
