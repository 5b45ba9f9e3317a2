"""Transforms in agreements: written per response field, checked against the field's type."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.errors import PolicyLoadError
from gateway.policy import PolicySet, compile_policies, decide, load_policies
from gateway.redaction import TransformKind, derive_pseudonym_key, redact
from gateway.redaction.transforms import pseudonymise

Factory = Callable[..., Any]


def _problems(policy_set: PolicySet, **kwargs: Any) -> list[str]:
    with pytest.raises(PolicyLoadError) as caught:
        compile_policies(policy_set, **kwargs)
    return caught.value.problems


def test_a_response_field_is_a_path_or_a_path_with_a_transform(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory
) -> None:
    fields = [
        "properties[].uprn",
        {"path": "nino", "transform": {"mask": {"keep_last": 2}}},
        {"path": "date_of_birth", "transform": "generalise"},
        {"path": "properties[].address", "transform": "keep"},
        {"path": "properties[].address.postcode", "transform": "generalise"},
        {"path": "properties[].address.line1", "transform": "drop"},
        {"path": "employments[].employer_paye_ref", "transform": "pseudonym"},
        {"path": "employments[].annual_pay_gbp", "transform": {"generalise": {"band": 10000}}},
        {"path": "surname", "transform": {"truncate": 1}},
    ]
    policy = policy_of(agreement_doc(purpose_doc(response_fields=fields)))
    purpose = policy.purpose("ho-hmrc-test", "check")
    assert purpose is not None
    assert "properties[].address.line1" not in purpose.response_fields
    assert "properties[].address" in purpose.response_fields
    assert dict(purpose.transforms.rules).keys() == {
        "nino",
        "date_of_birth",
        "properties[].address.postcode",
        "properties[].address.line1",
        "employments[].employer_paye_ref",
        "employments[].annual_pay_gbp",
        "surname",
    }
    assert dict(purpose.transforms.rules)["surname"].kind is TransformKind.TRUNCATE


def test_released_records_carry_the_transformed_values_and_name_them(
    policy_of: Factory,
    agreement_doc: Factory,
    purpose_doc: Factory,
    request_of: Factory,
    hmrc_record: Factory,
    pseudonym_secret: bytes,
) -> None:
    fields = [
        {"path": "nino", "transform": {"mask": {"keep_last": 2}}},
        {"path": "employments[].employer_paye_ref", "transform": "pseudonym"},
        {"path": "properties[].address.postcode", "transform": "generalise"},
    ]
    policy = policy_of(agreement_doc(purpose_doc(response_fields=fields)))
    decision = decide(policy, request_of(), sender="ho", now=request_of().sent_at)
    purpose = policy.purpose("ho-hmrc-test", "check")
    assert decision.allowed and purpose is not None
    result = redact(hmrc_record(), decision.response_paths, transforms=purpose.transforms)
    key = derive_pseudonym_key(pseudonym_secret, "ho-hmrc-test")
    assert result.record == {
        "nino": "*******6C",
        "employments": [{"employer_paye_ref": pseudonymise(key, "123/AB456")}],
        "properties": [{"address": {"postcode": "LS1"}}],
    }
    assert result.transformed == (
        "employments[].employer_paye_ref:pseudonym",
        "nino:mask",
        "properties[].address.postcode:generalise",
    )


def test_pseudonyms_differ_between_agreements_for_the_same_value(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory
) -> None:
    fields = [{"path": "nino", "transform": "pseudonym"}]
    one = agreement_doc(purpose_doc(response_fields=fields), id="ho-hmrc-one")
    two = agreement_doc(purpose_doc(response_fields=fields), id="ho-hmrc-two")
    policy = policy_of(one, two)
    released = []
    for agreement_id in ("ho-hmrc-one", "ho-hmrc-two"):
        purpose = policy.purpose(agreement_id, "check")
        assert purpose is not None
        released.append(redact({"nino": "QQ1"}, ["nino"], transforms=purpose.transforms).record)
    assert released[0] != released[1]
    assert "QQ1" not in str(released)


def test_a_pseudonym_needs_the_gateways_secret(
    agreement_doc: Factory, purpose_doc: Factory
) -> None:
    fields = [{"path": "nino", "transform": "pseudonym"}]
    policy_set = PolicySet.of([agreement_doc(purpose_doc(response_fields=fields))])
    [problem] = _problems(policy_set)
    assert "purpose 'check': pseudonym transforms need the gateway's pseudonym secret" in problem


@pytest.mark.parametrize(
    ("path", "transform", "message"),
    [
        ("self_assessment", "pseudonym", "pseudonym applies to text and numbers"),
        ("properties[].ownership", "pseudonym", "pseudonym applies to text and numbers"),
        ("date_of_birth", {"mask": {"keep_last": 2}}, "mask applies to text"),
        ("annual", "generalise", "is not a field"),
        ("surname", "generalise", "generalise applies to dates, numbers and postcodes"),
        ("properties[].occupants_declared", "generalise", "generalise a number with {band: N}"),
        ("date_of_birth", {"generalise": {"band": 5}}, "band applies to numbers only"),
        ("address", {"truncate": 3}, "truncate applies to single values"),
    ],
)
def test_a_transform_that_does_not_suit_the_fields_type_is_a_compile_error(
    agreement_doc: Factory,
    purpose_doc: Factory,
    pseudonym_secret: bytes,
    path: str,
    transform: object,
    message: str,
) -> None:
    fields = ["nino", {"path": path, "transform": transform}]
    policy_set = PolicySet.of([agreement_doc(purpose_doc(response_fields=fields))])
    problems = _problems(policy_set, pseudonym_secret=pseudonym_secret)
    assert any(message in p and path in p for p in problems), problems


VALID = """\
id: ho-hmrc-test
title: Test agreement
requester: ho
provider: hmrc
legal_basis: Test Act 2020 s.1
reference: MoU TEST/1
owner: Test team
status: active
valid_from: 2020-01-01
purposes:
  - id: check
    description: Find a taxpayer's properties.
    subject_identifiers: [nino]
    request_fields: [nino]
    response_fields:
      - properties[].uprn
      - {path: nino, transform: {mask: {keep_last: 2}}}
      - {path: surname, transform: %s}
"""


def _write(directory: Path, transform: str) -> Path:
    (directory / "a.yaml").write_text(textwrap.dedent(VALID % transform), encoding="utf-8")
    return directory


def test_the_yaml_syntax_loads_as_documented(tmp_path: Path) -> None:
    policy_set = load_policies(_write(tmp_path, "{truncate: 1}"))
    rules = policy_set.agreements[0].purposes[0].response_fields
    assert [(r.path, r.transform.as_yaml()) for r in rules] == [
        ("properties[].uprn", "keep"),
        ("nino", {"mask": {"keep_last": 2}}),
        ("surname", {"truncate": 1}),
    ]


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        ("scramble", "'scramble' is not a transform"),
        ("{mask: {keep_end: 2}}", "unknown mask option(s): keep_end"),
        ("truncate", "truncate needs a length"),
    ],
)
def test_a_bad_transform_is_reported_at_its_file_and_line(
    tmp_path: Path, transform: str, message: str
) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        load_policies(_write(tmp_path, transform))
    [problem] = caught.value.problems
    assert problem.startswith("a.yaml:18: purposes[0].response_fields[2].transform: ")
    assert message in problem


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            ["nino", {"path": "properties", "transform": "drop"}, "properties[].uprn"],
            "properties[].uprn lies inside 'properties', which is dropped",
        ),
        ([{"path": "nino", "transform": "drop"}], "every field is dropped"),
        (["nino", {"path": "nino", "transform": "pseudonym"}], "listed more than once: nino"),
    ],
)
def test_response_fields_that_contradict_each_other_do_not_load(
    agreement_doc: Factory, purpose_doc: Factory, fields: list[Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        PolicySet.of([agreement_doc(purpose_doc(response_fields=fields))])


def test_the_readmes_example_agreement_loads_and_compiles(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "policies/README.md").read_text()
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    rules = readme.split("```yaml\n", 2)[2].split("```", 1)[0]
    (tmp_path / "example.yaml").write_text(example, encoding="utf-8")
    (tmp_path / "global.yaml").write_text(rules, encoding="utf-8")
    policy = compile_policies(load_policies(tmp_path), pseudonym_secret=b"s" * 32)
    purpose = policy.purpose("ho-hmrc-shared-houses", "identify-shared-houses")
    assert purpose is not None and purpose.caps is not None and purpose.subject is not None
    assert len(purpose.transforms.rules) == 5
