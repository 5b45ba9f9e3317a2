"""Properties over random agreements, requests and records: deterministic decisions, and nothing
outside a purpose's allow-list (nested and in lists) or untransformed ever reaches the output."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.envelope.models import ExchangeRequest
from gateway.errors import PolicyLoadError
from gateway.policy import PolicySet, compile_policies, decide, shipped_datasets
from gateway.redaction import TransformKind, leaf_paths, parse_path, parse_transform, redact

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SECRET = b"property-test-secret-0123456789"
SHAPE = shipped_datasets()["hmrc"]


def _prefixes(path: str) -> list[str]:
    out, head = [], ""
    for part in path.split("."):
        base = part.removesuffix("[]")
        head = f"{head}.{base}" if head else base
        out.append(head)
        if part.endswith("[]"):
            out.append(head + "[]")
            head += "[]"
    return out


CANDIDATES = sorted({p for leaf in SHAPE.leaves for p in _prefixes(leaf)})
SPECS = [
    parse_transform(s)
    for s in (
        "keep",
        "keep",
        "drop",
        "pseudonym",
        "generalise",
        {"generalise": {"band": 1000}},
        {"mask": {"keep_last": 2}},
        {"truncate": 2},
    )
]

_TEXT = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789 /", min_size=1, max_size=10)
_POSTCODE = st.sampled_from(["LS1 1AA", "M1 1AE", "SW1A 2AA", "B33 8TH", "CF10 1EP"])
_DATES = st.dates(date(1930, 1, 1), date(2024, 12, 31))
_ADDRESS = st.fixed_dictionaries(
    {"line1": _TEXT, "line2": st.none() | _TEXT, "town": _TEXT, "postcode": _POSTCODE}
)
_RECORDS = st.fixed_dictionaries(
    {
        "nino": _TEXT,
        "surname": _TEXT,
        "forenames": _TEXT,
        "date_of_birth": st.dates(date(1930, 1, 1), date(2005, 1, 1)),
        "address": _ADDRESS,
        "employments": st.lists(
            st.fixed_dictionaries(
                {
                    "employer_name": _TEXT,
                    "employer_paye_ref": _TEXT,
                    "start_date": _DATES,
                    "end_date": st.none() | _DATES,
                    "annual_pay_gbp": st.integers(0, 200_000),
                }
            ),
            max_size=3,
        ),
        "properties": st.lists(
            st.fixed_dictionaries(
                {
                    "uprn": _TEXT,
                    "address": _ADDRESS,
                    "ownership": st.sampled_from(["OWNER", "TENANT", "LANDLORD"]),
                    "occupants_declared": st.integers(0, 20),
                    "rental_income_gbp": st.none() | st.integers(0, 100_000),
                }
            ),
            max_size=3,
        ),
        "self_assessment": st.booleans(),
    }
)


@st.composite
def _purposes(draw: st.DrawFn) -> dict[str, Any]:
    paths = draw(st.lists(st.sampled_from(CANDIDATES), min_size=1, max_size=6, unique=True))
    fields: list[Any] = []
    for path in paths:
        spec = draw(st.sampled_from(SPECS))
        if SHAPE.transform_problem(path, spec) is not None:
            spec = SPECS[0]
        fields.append({"path": path, "transform": spec.as_yaml()})
    return {
        "id": "check",
        "description": "d",
        "subject_identifiers": ["nino"],
        "request_fields": ["nino", "surname"],
        "response_fields": fields,
        "children": "allowed",
    }


def _policy(purpose: dict[str, Any], version: str = "v") -> Any:
    agreement = {
        "id": "ho-hmrc-random",
        "title": "t",
        "requester": "ho",
        "provider": "hmrc",
        "legal_basis": "b",
        "reference": "r",
        "owner": "o",
        "status": "active",
        "valid_from": "2020-01-01",
        "purposes": [purpose],
    }
    return compile_policies(PolicySet.of([agreement], version=version), pseudonym_secret=SECRET)


_WANTED = st.lists(st.sampled_from([*CANDIDATES, "nationality", "properties.uprn"]), max_size=4)
_QUERIES = st.dictionaries(st.sampled_from(["nino", "surname", "nationality"]), _TEXT, max_size=3)


def _inside(leaf: str, path: str) -> bool:
    return leaf == path or leaf.startswith((path + ".", path + "["))


def _pairs(raw: Any, released: Any, segments: tuple[Any, ...]) -> list[tuple[Any, Any]]:
    """(input, output) values at a path, position by position (lists whose output lost elements
    cannot be matched and are skipped)."""
    if not segments:
        return [(raw, released)]
    seg, rest = segments[0], segments[1:]
    if not isinstance(raw, dict) or not isinstance(released, dict) or seg.name not in released:
        return []
    before, after = raw.get(seg.name), released[seg.name]
    if not seg.array:
        return _pairs(before, after, rest)
    if not isinstance(before, list) or len(before) != len(after):
        return []
    return [p for x, y in zip(before, after, strict=True) for p in _pairs(x, y, rest)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_purposes(), _WANTED, _QUERIES, st.sampled_from(["ho", "dwp"]), _RECORDS)
def test_random_policies_release_only_allowed_fields_transformed_and_decide_deterministically(
    purpose: dict[str, Any],
    wanted: list[str],
    query: dict[str, str],
    sender: str,
    record: dict[str, Any],
) -> None:
    try:
        policy, again = _policy(purpose), _policy(purpose)
    except (ValidationError, PolicyLoadError):  # e.g. a dropped path with a field listed inside
        reject()
    request = ExchangeRequest(
        request_id="r",
        requester="ho",
        provider="hmrc",
        agreement_id="ho-hmrc-random",
        purpose="check",
        query=query,
        wanted=wanted,
        sent_at=NOW,
    )
    decision = decide(policy, request, sender=sender, now=NOW)
    assert decision == decide(policy, request, sender=sender, now=NOW)
    assert decision == decide(again, request, sender=sender, now=NOW)
    if not decision.allowed:
        assert decision.response_fields == ()
        return

    compiled = policy.purpose("ho-hmrc-random", "check")
    rules = dict(compiled.transforms.rules)
    dropped = [p for p, s in rules.items() if s.kind is TransformKind.DROP]
    allowed = compiled.response_fields
    assert all(any(_inside(f, a) for a in allowed) for f in decision.response_fields)

    result = redact(record, decision.response_paths, transforms=compiled.transforms)
    for leaf in leaf_paths(result.record):
        assert any(_inside(leaf, a) for a in allowed), leaf
        assert any(_inside(leaf, w) for w in decision.response_fields), leaf
        assert not any(_inside(leaf, d) for d in dropped), leaf
    for path, spec in rules.items():
        if spec.kind is TransformKind.DROP:
            continue
        for raw, released in _pairs(record, result.record, parse_path(path)):
            if raw is not None:
                assert released != raw, (path, spec.name, raw)
