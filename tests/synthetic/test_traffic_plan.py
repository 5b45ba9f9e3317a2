"""The traffic plan: deterministic by seed, in the advertised mix, each kind as advertised."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.envelope.codec import Codec
from gateway.envelope.datasets import SUBJECT_IDENTIFIER_BY_PROVIDER
from gateway.envelope.models import (
    AuditOutcome,
    ExchangeRequest,
)
from gateway.policy import compile_policies, decide, load_policies
from gateway.synthetic.datasets import generate
from gateway.synthetic.traffic import MIX, PlannedRequest, RequestKind, plan_requests

_SIZE = 200


@pytest.fixture(scope="module")
def plan() -> list[PlannedRequest]:
    return plan_requests(1000, seed=11, dataset_size=_SIZE)


def _known_ids(provider: str, size: int = _SIZE) -> set[str]:
    field = SUBJECT_IDENTIFIER_BY_PROVIDER[provider]
    return {record[field] for record in generate(provider, size)}


def test_plan_has_the_advertised_mix_exactly(plan: list[PlannedRequest]) -> None:
    """Each kind appears round(n * share) times, and the shares add up to the whole plan."""
    assert sum(MIX.values()) == pytest.approx(1.0)
    counts = Counter(p.kind for p in plan)
    assert counts == {kind: round(1000 * share) for kind, share in MIX.items()}


def test_plan_is_deterministic_by_seed() -> None:
    """The same seed gives the same plan; another seed a different one."""
    assert plan_requests(100, seed=5, dataset_size=_SIZE) == plan_requests(
        100, seed=5, dataset_size=_SIZE
    )
    assert plan_requests(100, seed=5, dataset_size=_SIZE) != plan_requests(
        100, seed=6, dataset_size=_SIZE
    )


def test_counts_add_up_for_awkward_sizes() -> None:
    """Rounding never loses or adds a request."""
    for n in (0, 1, 7, 33, 999):
        assert len(plan_requests(n, dataset_size=_SIZE)) == n


def test_valid_requests_name_subjects_the_provider_holds(plan: list[PlannedRequest]) -> None:
    """Valid and over-asking requests ask about subjects in the provider's dataset; unknown-subject
    requests about identifiers it does not hold."""
    known = {provider: _known_ids(provider) for provider in ("ho", "dfe", "hmrc", "nhs", "dwp")}
    for planned in plan:
        value = planned.query[SUBJECT_IDENTIFIER_BY_PROVIDER[planned.provider]]
        if planned.kind is RequestKind.UNKNOWN_SUBJECT:
            assert value not in known[planned.provider]
        else:
            assert value in known[planned.provider], planned


def test_the_shipped_policies_treat_each_kind_as_advertised(plan: list[PlannedRequest]) -> None:
    """Against the real agreements, the denied kinds are denied, over-asking ones are routed
    minimised or narrowed, and the rest are approved as they are."""
    policy = compile_policies(load_policies(Path(__file__).parents[2] / "policies"))
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)  # every active agreement is in force
    codes: dict[RequestKind, set[str]] = {}
    for i, planned in enumerate(plan):
        decision = decide(policy, _envelope(str(i), planned), sender=planned.requester, now=now)
        assert decision.allowed is not planned.expect_denied, (planned, decision.reasons)
        codes.setdefault(planned.kind, set()).update(r.code for r in decision.reasons)
        if planned.kind is RequestKind.EXTRA_QUERY_FIELDS:
            assert decision.outcome is AuditOutcome.APPROVED_MINIMISED
        elif planned.kind is RequestKind.WANTED_NOT_ALLOWED:
            assert decision.outcome is AuditOutcome.APPROVED
            assert set(decision.response_fields) < set(planned.wanted)
        elif not planned.expect_denied:
            assert decision.outcome is AuditOutcome.APPROVED
    assert codes[RequestKind.EXPIRED_AGREEMENT] >= {"agreement.status", "agreement.expired"}
    assert codes[RequestKind.PROHIBITED_PURPOSE] >= {"purpose.prohibited"}
    assert codes[RequestKind.WRONG_PURPOSE] == {"purpose.not_allowed"}


def _envelope(request_id: str, planned: PlannedRequest) -> ExchangeRequest:
    return ExchangeRequest(
        request_id=request_id,
        requester=planned.requester,
        provider=planned.provider,
        agreement_id=planned.agreement_id,
        purpose=planned.purpose,
        query=dict(planned.query),
        wanted=list(planned.wanted),
        sent_at=datetime.now(UTC),
    )


def test_planned_requests_are_valid_envelopes(plan: list[PlannedRequest]) -> None:
    """Every planned request encodes as an ExchangeRequest."""
    codec = Codec.default()
    for i, planned in enumerate(plan):
        codec.encode(_envelope(str(i), planned))
