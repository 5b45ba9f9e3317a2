"""load_policies(): every file, every problem, named by file and line; a content-hash version."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gateway.errors import PolicyLoadError
from gateway.policy import load_policies

VALID = """\
id: {id}
title: Test agreement
requester: ho
provider: dfe
legal_basis: Test Act 2020 s.1
reference: MoU TEST/1
owner: Test team
status: active
valid_from: 2020-01-01
purposes:
  - id: locate
    description: Find a person's address.
    subject_identifiers: [upn]
    request_fields: [upn, surname]
    response_fields: [home_address]
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_for(directory: Path) -> list[str]:
    with pytest.raises(PolicyLoadError) as caught:
        load_policies(directory)
    return caught.value.problems


def test_loads_every_yaml_and_yml_file_and_remembers_where_each_came_from(tmp_path: Path) -> None:
    write(tmp_path, "one.yaml", VALID.format(id="agreement-one"))
    write(tmp_path, "two.yml", VALID.format(id="agreement-two"))
    write(tmp_path, "notes.md", "not an agreement")
    policy_set = load_policies(tmp_path)
    assert [a.id for a in policy_set.agreements] == ["agreement-one", "agreement-two"]
    assert policy_set.sources == {"agreement-one": "one.yaml", "agreement-two": "two.yml"}


def test_version_is_a_content_hash_of_file_names_and_bytes(tmp_path: Path) -> None:
    write(tmp_path, "one.yaml", VALID.format(id="agreement-one"))
    first = load_policies(tmp_path).version
    assert len(first) == 16
    assert int(first, 16) >= 0
    assert load_policies(tmp_path).version == first

    write(tmp_path, "one.yaml", VALID.format(id="agreement-one") + "# reviewed\n")
    edited = load_policies(tmp_path).version
    assert edited != first

    (tmp_path / "one.yaml").rename(tmp_path / "renamed.yaml")
    assert load_policies(tmp_path).version not in (first, edited)


def test_a_problem_names_the_file_the_line_and_the_reason(tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", VALID.format(id="agreement-one").replace("active", "paused"))
    [problem] = problems_for(tmp_path)
    assert problem.startswith("bad.yaml:8: status: ")
    assert "'active', 'suspended' or 'ended'" in problem


def test_every_problem_in_every_file_is_reported_at_once(tmp_path: Path) -> None:
    text = VALID.format(id="Bad_Id").replace("valid_from: 2020-01-01", "valid_from: soon")
    write(tmp_path, "a.yaml", text + "colour: blue\n")
    write(tmp_path, "b.yaml", VALID.format(id="agreement-b").replace("[upn, surname]", "[]"))
    write(tmp_path, "c.yaml", "id: [unclosed\n")
    problems = problems_for(tmp_path)
    assert len(problems) == 5, problems
    assert problems[0].startswith("a.yaml:1: id: ")
    assert "lower-kebab-case" in problems[0]
    assert problems[1].startswith("a.yaml:9: valid_from: ")
    assert problems[2] == "a.yaml:16: colour: unknown key (not part of the agreement format)"
    assert problems[3].startswith("b.yaml:14: purposes[0].request_fields: ")
    assert problems[4].startswith("c.yaml:2: not valid YAML: ")


def test_a_missing_key_points_at_the_mapping_that_lacks_it(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID.format(id="agreement-a").replace("owner: Test team\n", ""))
    assert problems_for(tmp_path) == ["a.yaml:1: owner: required key is missing"]


def test_duplicate_agreement_ids_are_an_error_naming_both_files(tmp_path: Path) -> None:
    write(tmp_path, "first.yaml", VALID.format(id="same-id"))
    write(tmp_path, "second.yaml", VALID.format(id="same-id"))
    assert problems_for(tmp_path) == [
        "second.yaml: agreement id 'same-id' is already used by first.yaml"
    ]


def test_a_key_written_twice_is_an_error_rather_than_last_one_wins(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID.format(id="agreement-a") + "status: ended\n")
    assert problems_for(tmp_path) == ["a.yaml:16: key 'status' appears more than once"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "a.yaml: the file is empty; expected an agreement"),
        (
            "- just\n- a list\n",
            "a.yaml:1: expected the agreement's keys (id, title, ...), found list",
        ),
        ("a: 1\n---\nb: 2\n", "a.yaml:2: not valid YAML: "),
    ],
)
def test_a_file_that_is_not_one_agreement_mapping_is_an_error(
    tmp_path: Path, text: str, expected: str
) -> None:
    write(tmp_path, "a.yaml", text)
    [problem] = problems_for(tmp_path)
    assert problem.startswith(expected)


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(b"id: caf\xe9\n")
    [problem] = problems_for(tmp_path)
    assert problem.startswith("a.yaml: not UTF-8 text")


def test_a_missing_or_empty_directory_is_an_error(tmp_path: Path) -> None:
    assert "not a directory" in problems_for(tmp_path / "absent")[0]
    assert "no agreement files" in problems_for(tmp_path)[0]


def test_the_error_carries_a_stable_code_and_is_not_retriable(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        load_policies(tmp_path)
    assert caught.value.code == "policy_invalid"
    assert caught.value.retriable is False


def test_cross_field_problems_are_each_reported_at_the_line_of_their_key(tmp_path: Path) -> None:
    text = (
        VALID.format(id="agreement-a")
        .replace("provider: dfe", "provider: ho")
        .replace("valid_from: 2020-01-01", "valid_from: 2020-01-01\nvalid_until: 2019-12-31")
    )
    write(tmp_path, "a.yaml", text)
    assert problems_for(tmp_path) == [
        "a.yaml:4: provider: must be a different department from the requester",
        "a.yaml:10: valid_until: must not be before valid_from",
    ]
