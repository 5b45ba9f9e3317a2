"""Field paths: parsing, compiling to a tree, normalising, covering and narrowing."""

from __future__ import annotations

import pytest

from gateway.redaction import (
    EMPTY_PATHS,
    Segment,
    compile_paths,
    format_path,
    leaf_paths,
    parse_path,
)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("surname", (Segment("surname", False),)),
        ("address.postcode", (Segment("address", False), Segment("postcode", False))),
        (
            "employments[].employer_name",
            (Segment("employments", True), Segment("employer_name", False)),
        ),
        ("tags[]", (Segment("tags", True),)),
    ],
)
def test_paths_parse_into_segments_and_format_back(
    text: str, segments: tuple[Segment, ...]
) -> None:
    assert parse_path(text) == segments
    assert format_path(segments) == text


@pytest.mark.parametrize(
    "text", ["", ".", "a.", ".a", "a..b", "a[", "a[]b", "a[][]", "1a", "a b", "a.b-c", "[]"]
)
def test_text_that_is_not_a_path_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="field path"):
        parse_path(text)


def test_compiled_paths_are_sorted_deduplicated_and_without_paths_inside_others() -> None:
    paths = compile_paths(["school_name", "address.postcode", "address", "school_name", "b[]"])
    assert paths.paths == ("address", "b[]", "school_name")


def test_a_whole_list_absorbs_paths_inside_its_elements() -> None:
    assert compile_paths(["items[].a", "items"]).paths == ("items",)
    assert compile_paths(["items[].a", "items[]"]).paths == ("items[]",)


@pytest.mark.parametrize(
    "paths",
    [["a.b", "a[].c"], ["a[].c", "a.b"], ["a[]", "a.b"], ["x.a[].b", "x.a.c"]],
)
def test_paths_that_disagree_on_whether_a_field_is_a_list_are_rejected(
    paths: list[str],
) -> None:
    with pytest.raises(ValueError, match="is a list"):
        compile_paths(paths)


def test_an_empty_allow_list_allows_nothing() -> None:
    assert compile_paths([]) == EMPTY_PATHS
    assert EMPTY_PATHS.paths == ()
    assert not EMPTY_PATHS.covers("anything")


def test_covers_is_true_only_inside_an_allowed_subtree() -> None:
    paths = compile_paths(["address", "employments[].employer_name"])
    assert paths.covers("address")
    assert paths.covers("address.postcode")
    assert paths.covers("employments[].employer_name")
    assert not paths.covers("employments")
    assert not paths.covers("employments[].annual_pay_gbp")
    assert not paths.covers("employments.employer_name")
    assert not paths.covers("not a path")


def test_narrowing_keeps_asked_paths_inside_allowed_subtrees() -> None:
    paths = compile_paths(["home_address", "school_name"])
    assert paths.narrow(["home_address.postcode"]).paths == ("home_address.postcode",)
    assert paths.narrow(["school_name", "home_address"]).paths == ("home_address", "school_name")


def test_narrowing_with_a_parent_yields_only_the_allowed_children() -> None:
    paths = compile_paths(["properties[].uprn", "properties[].address.postcode"])
    assert paths.narrow(["properties"]).paths == (
        "properties[].address.postcode",
        "properties[].uprn",
    )
    assert paths.narrow(["properties[].address"]).paths == ("properties[].address.postcode",)


def test_narrowing_drops_what_is_not_allowed_or_is_not_a_path() -> None:
    paths = compile_paths(["address.postcode", "employments[].employer_name"])
    narrowed = paths.narrow(
        ["address.line1", "nino", "employments.employer_name", "employments[]", "a..b"]
    )
    assert narrowed.paths == ("employments[].employer_name",)
    assert paths.narrow(["nino"]) == EMPTY_PATHS


def test_narrowing_is_stable_for_repeated_asks() -> None:
    paths = compile_paths(["a", "b.c"])
    assert paths.narrow(["b", "a.x"]) == paths.narrow(("b", "a.x"))
    assert paths.narrow(["b", "a.x"]).root == paths.narrow(["a.x", "b"]).root


def test_leaf_paths_describe_a_records_shape_including_nulls_and_empty_containers() -> None:
    record = {
        "nino": "QQ123456C",
        "line2": None,
        "address": {"postcode": "LS1 1AA", "extra": {}},
        "employments": [{"employer_name": "A"}, {"employer_name": "B", "end_date": None}],
        "household": [],
        "tags": ["x", "y"],
    }
    assert leaf_paths(record) == (
        "address.extra",
        "address.postcode",
        "employments[].employer_name",
        "employments[].end_date",
        "household",
        "line2",
        "nino",
        "tags[]",
    )


def test_narrowing_never_fails_on_asks_that_disagree_inside_an_allowed_subtree() -> None:
    paths = compile_paths(["address"])
    assert paths.narrow(["address[]", "address.postcode"]).paths == ("address.postcode",)
    assert paths.narrow(["address.postcode", "address[]"]).paths == ("address.postcode",)
