"""Factories for agreements, global rules and requests, shared by the policy tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import records_support

from gateway.envelope.models import ExchangeRequest
from gateway.policy import CompiledPolicy, PolicySet, compile_policies

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SECRET = b"test-pseudonym-secret-0123456789"

AgreementFactory = Callable[..., dict[str, Any]]
PurposeFactory = Callable[..., dict[str, Any]]
PolicyFactory = Callable[..., CompiledPolicy]
RequestFactory = Callable[..., ExchangeRequest]


def _purpose(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "check",
        "description": "Find a taxpayer's properties.",
        "subject_identifiers": ["nino"],
        "request_fields": ["nino", "surname", "date_of_birth"],
        "response_fields": ["properties[].uprn", "properties[].address.postcode"],
    }
    base.update(overrides)
    return base


@pytest.fixture
def pseudonym_secret() -> bytes:
    """The gateway secret pseudonym keys are derived from in these tests."""
    return SECRET


@pytest.fixture
def purpose_doc() -> PurposeFactory:
    """``make(**overrides)``: a purpose of a ho -> hmrc agreement, as an agreement file has it."""
    return _purpose


@pytest.fixture
def agreement_doc() -> AgreementFactory:
    """``make(*purposes, **overrides)``: an active ho -> hmrc agreement (one purpose by default)."""

    def make(*purposes: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "id": "ho-hmrc-test",
            "title": "Test agreement",
            "requester": "ho",
            "provider": "hmrc",
            "legal_basis": "Test Act 2020 s.1",
            "reference": "MoU TEST/1",
            "owner": "Test team",
            "status": "active",
            "valid_from": "2020-01-01",
            "purposes": list(purposes) or [_purpose()],
        }
        base.update(overrides)
        return base

    return make


@pytest.fixture
def policy_of(agreement_doc: AgreementFactory) -> PolicyFactory:
    """``make(*agreements, global_policy=None, version="test-v1")``: a compiled policy (the
    default agreement if none is given), with the test pseudonym secret."""

    def make(
        *agreements: dict[str, Any],
        global_policy: dict[str, Any] | None = None,
        version: str = "test-v1",
    ) -> CompiledPolicy:
        docs = list(agreements) or [agreement_doc()]
        policy_set = PolicySet.of(docs, version=version, global_policy=global_policy)
        return compile_policies(policy_set, pseudonym_secret=SECRET)

    return make


@pytest.fixture
def request_of() -> RequestFactory:
    """``make(**overrides)``: a request under the default agreement's purpose."""

    def make(**overrides: Any) -> ExchangeRequest:
        fields: dict[str, Any] = {
            "request_id": "req-1",
            "requester": "ho",
            "provider": "hmrc",
            "agreement_id": "ho-hmrc-test",
            "purpose": "check",
            "query": {"nino": "QQ123456C"},
            "sent_at": NOW,
        }
        fields.update(overrides)
        return ExchangeRequest(**fields)

    return make


@pytest.fixture
def hmrc_record() -> Callable[..., dict[str, Any]]:
    """``make(born=date(1990, 2, 3))``: a taxpayer's record in the HMRC dataset's shape."""
    return records_support.hmrc_record
