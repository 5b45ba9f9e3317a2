"""Field paths in agreements are checked against the providers' dataset schemas at compile time."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import PolicyLoadError
from gateway.policy import PolicySet, compile_policies, dataset_shape, load_policies

Factory = Callable[..., Any]


def _problems(policy_set: PolicySet, **kwargs: Any) -> list[str]:
    with pytest.raises(PolicyLoadError) as caught:
        compile_policies(policy_set, **kwargs)
    return caught.value.problems


def test_an_unknown_response_path_names_the_file_the_agreement_and_the_path(
    tmp_path: Path,
) -> None:
    (tmp_path / "shared-houses.yaml").write_text(
        textwrap.dedent(
            """\
            id: ho-hmrc-test
            title: t
            requester: ho
            provider: hmrc
            legal_basis: b
            reference: r
            owner: o
            status: active
            valid_from: 2020-01-01
            purposes:
              - id: check
                description: d
                subject_identifiers: [nino]
                request_fields: [nino]
                response_fields:
                  - properties[].uprm
                  - employments.employer_name
            """
        ),
        encoding="utf-8",
    )
    problems = _problems(load_policies(tmp_path))
    assert problems == [
        "shared-houses.yaml: agreement 'ho-hmrc-test' purpose 'check': response field "
        "'properties[].uprm' is not a field of dx.datasets.EmploymentAndProperty "
        "(did you mean 'properties[].uprn'?)",
        "shared-houses.yaml: agreement 'ho-hmrc-test' purpose 'check': response field "
        "'employments.employer_name' is not a field of dx.datasets.EmploymentAndProperty "
        "(did you mean 'employments[].employer_name'?)",
    ]


@pytest.mark.parametrize(
    "path",
    ["nino", "address", "address.postcode", "properties", "properties[]", "properties[].address"],
)
def test_leaves_records_and_lists_of_the_dataset_are_accepted(
    policy_of: Factory, agreement_doc: Factory, purpose_doc: Factory, path: str
) -> None:
    policy = policy_of(agreement_doc(purpose_doc(response_fields=[path])))
    assert policy.purpose("ho-hmrc-test", "check") is not None


def test_an_unknown_request_field_is_an_error(agreement_doc: Factory, purpose_doc: Factory) -> None:
    doc = purpose_doc(subject_identifiers=["nino"], request_fields=["nino", "nationality"])
    [problem] = _problems(PolicySet.of([agreement_doc(doc)]))
    assert "request field 'nationality' is not a field of dx.datasets.EmploymentAndProperty" in (
        problem
    )


def test_a_provider_without_a_dataset_schema_is_an_error(agreement_doc: Factory) -> None:
    [problem] = _problems(PolicySet.of([agreement_doc(provider="dvla")]))
    assert "provider 'dvla' has no dataset schema" in problem


def test_every_agreement_is_checked_and_every_problem_reported(
    agreement_doc: Factory, purpose_doc: Factory
) -> None:
    bad = purpose_doc(response_fields=["nope"])
    problems = _problems(
        PolicySet.of([agreement_doc(bad, id="first-one"), agreement_doc(bad, id="second-one")])
    )
    assert len(problems) == 2
    assert "'first-one'" in problems[0] and "'second-one'" in problems[1]


def test_a_custom_catalogue_of_datasets_can_be_given() -> None:
    schema = {
        "type": "record",
        "name": "Pet",
        "namespace": "test",
        "fields": [
            {"name": "chip", "type": "string"},
            {"name": "date_of_birth", "type": {"type": "int", "logicalType": "date"}},
        ],
    }
    agreement = {
        "id": "a-b",
        "title": "t",
        "requester": "a",
        "provider": "b",
        "legal_basis": "l",
        "reference": "r",
        "owner": "o",
        "status": "active",
        "valid_from": "2020-01-01",
        "purposes": [
            {
                "id": "p",
                "description": "d",
                "subject_identifiers": ["chip"],
                "request_fields": ["chip"],
                "response_fields": [{"path": "chip", "transform": {"mask": {"keep_last": 3}}}],
            }
        ],
    }
    policy = compile_policies(PolicySet.of([agreement]), datasets={"b": dataset_shape(schema)})
    assert policy.purpose("a-b", "p") is not None
