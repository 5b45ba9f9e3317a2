"""Properties of redact() over random records and allow-lists."""

from __future__ import annotations

from typing import Any

from hypothesis import given, reject, settings
from hypothesis import strategies as st

from gateway.redaction import compile_paths, leaf_paths, parse_path, redact

_NAMES = st.sampled_from(["a", "b", "c", "d", "e"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=4))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_NAMES, inner, max_size=4)
    ),
    max_leaves=25,
)
_RECORDS = st.dictionaries(_NAMES, _VALUES, max_size=5)
_RANDOM_PATHS = st.lists(
    st.tuples(_NAMES, st.booleans()).map(lambda seg: seg[0] + ("[]" if seg[1] else "")),
    min_size=1,
    max_size=3,
).map(".".join)


def _prefixes(path: str) -> list[str]:
    """``a[].b.c`` -> ``a``, ``a[]``, ``a[].b``, ``a[].b.c``."""
    out = []
    for i, part in enumerate(path.split(".")):
        head = ".".join(path.split(".")[:i])
        base = part.removesuffix("[]")
        joined = f"{head}.{base}" if head else base
        out.append(joined)
        if part.endswith("[]"):
            out.append(joined + "[]")
    return out


def _is_path(text: str) -> bool:
    try:
        parse_path(text)
    except ValueError:
        return False
    return True


def _covered(leaf: str, allowed: tuple[str, ...]) -> bool:
    return any(leaf == p or leaf.startswith((p + ".", p + "[")) for p in allowed)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    record = draw(_RECORDS)
    candidates = sorted({p for leaf in leaf_paths(record) for p in _prefixes(leaf) if _is_path(p)})
    from_record = draw(st.lists(st.sampled_from(candidates), max_size=4)) if candidates else []
    return record, from_record + draw(st.lists(_RANDOM_PATHS, max_size=2))


@settings(max_examples=300, deadline=None)
@given(_cases())
def test_nothing_outside_the_allow_list_is_released_and_every_leaf_is_accounted_for(
    case: tuple[dict[str, Any], list[str]],
) -> None:
    record, allowed = case
    try:
        paths = compile_paths(allowed)
    except ValueError:  # random paths may disagree on whether a field is a list
        reject()
    result = redact(record, paths)

    output_leaves = set(leaf_paths(result.record))
    assert all(_covered(leaf, paths.paths) for leaf in output_leaves)
    assert output_leaves == set(result.released)
    assert set(result.released) | set(result.withheld) == set(leaf_paths(record))
    assert not set(result.released) & set(result.withheld)
    assert not any(_covered(leaf, paths.paths) for leaf in result.withheld)


@settings(max_examples=100, deadline=None)
@given(_RECORDS)
def test_allowing_every_top_level_field_releases_the_record_unchanged(
    record: dict[str, Any],
) -> None:
    result = redact(record, compile_paths(list(record)))
    assert result.record == record
    assert result.withheld == ()
