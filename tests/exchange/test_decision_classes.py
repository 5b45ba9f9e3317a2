"""Requests handled by their decision class's compiled plan give byte for byte the outputs of
the general way (the reference), with ids and times fixed: audit records, chain links and
checkpoints, routed requests, denials and their signatures, whatever the policy and traffic."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plans_support import KEY, NOW, pair, same_outputs
from processor_support import CODEC, TOPICS, one_agreement, purpose

from gateway.audit.verify import verify_messages
from gateway.bench._workload import encode_requests
from gateway.envelope.models import ExchangeRequest
from gateway.exchange.messages import InputMessage
from gateway.policy import CompiledPolicy

_OFFSETS: Counter[tuple[str, int]] = Counter()


def _message(dept: str, offset: int, fields: dict[str, Any], **extra: Any) -> InputMessage:
    """Request ``fields`` on ``dept``'s topic, partition ``offset % 3``, at the next offset
    there (no input gaps)."""
    topic, partition = TOPICS.requests(dept), offset % 3
    _OFFSETS[topic, partition] += 1
    value = CODEC.encode_fields(ExchangeRequest, fields)
    return InputMessage(topic, partition, _OFFSETS[topic, partition], b"k", value, **extra)


def _traffic(n: int, seed: int) -> list[dict[str, Any]]:
    """The benchmark's traffic mix, sent just before ``NOW``."""
    inputs = encode_requests(n, seed, TOPICS, "localhost:9", CODEC).messages
    raws = [CODEC.decode_record_as(m.value, "dx.gateway.ExchangeRequest") for m in inputs]
    return [r | {"sent_at": NOW - timedelta(seconds=i)} for i, r in enumerate(raws)]


def test_the_traffic_mix_and_its_variations_give_the_references_bytes() -> None:
    """The benchmark's traffic, then the same requests again (duplicates), from the wrong
    department, as replays, with blank, non-ASCII and stale values: most take a plan, and
    every output matches."""
    base = _traffic(600, 7)
    variants: list[InputMessage] = []
    for i, raw in enumerate(base):
        fields = dict(raw, request_id=f"v-{i}")
        sender = raw["requester"]
        kind = i % 8
        if kind == 1 and raw["query"]:
            first = next(iter(raw["query"]))
            fields["query"] = {**raw["query"], first: "  "}  # a blank value
        elif kind == 2:
            fields["query"] = {k: f"Zoë {v} 名前" for k, v in raw["query"].items()}
        elif kind == 3:
            fields["sent_at"] = NOW - timedelta(days=3)
        elif kind == 4:
            sender = "dwp" if sender != "dwp" else "nhs"  # claims to be someone else
        elif kind == 5:
            fields["request_id"] = f"bad id {i}\n"
        extra = {"replay_of": "0" * 32} if kind == 6 else {}
        variants.append(_message(sender, i, fields, **extra))
    firsts = [_message(r["requester"], i, r) for i, r in enumerate(base)]
    batches = [firsts[:300], firsts[300:], firsts[:50] + variants[:400], variants[400:]]

    fast, log = same_outputs(batches)

    classes = fast.decision_classes
    assert classes.compiled > 20
    assert classes.hits > 400
    assert verify_messages(log, KEY.public_key).ok


def test_wanted_fields_in_another_order_share_a_class_and_give_the_references_bytes() -> None:
    """The order a request names its wanted fields in changes none of its outputs, so one
    plan serves every order; a field named twice is another class (it is audited twice)."""
    policy = one_agreement(
        "nhs-ho",
        purpose(
            "status",
            request_fields=["person_id", "surname"],
            subject_identifiers=["person_id"],
            response_fields=["immigration_status", "leave_expiry", "nationality"],
        ),
    )
    orders = [
        ["immigration_status", "leave_expiry", "surname"],
        ["surname", "immigration_status", "leave_expiry"],
        ["leave_expiry", "surname", "immigration_status"],
        ["leave_expiry", "surname", "immigration_status", "surname"],
    ]
    messages = [
        _message(
            "nhs",
            i,
            {
                "request_id": f"w-{i}",
                "requester": "nhs",
                "provider": "ho",
                "agreement_id": "nhs-ho",
                "purpose": "status",
                "query": {"person_id": f"P{i}", "surname": "Okafor"},
                "wanted": wanted,
                "sent_at": NOW - timedelta(seconds=i),
            },
        )
        for i, wanted in enumerate(orders)
    ]

    fast, log = same_outputs([messages], policy)

    assert fast.decision_classes.compiled == 2
    assert fast.decision_classes.hits == 2
    assert verify_messages(log, KEY.public_key).ok


def test_classes_that_route_the_same_message_share_its_template() -> None:
    """Requests that want fields the purpose does not allow, or send query fields it drops, are
    classes of their own (their audit records differ) whose routed requests are alike but for
    the holes: one template serves them, and their outputs are the reference's."""
    policy = one_agreement(
        "nhs-ho",
        purpose(
            "status",
            request_fields=["person_id", "surname"],
            subject_identifiers=["person_id"],
            response_fields=["immigration_status", "leave_expiry"],
        ),
    )
    shapes = [
        ({"person_id": "P", "surname": "Okafor"}, ["immigration_status"]),
        ({"person_id": "P", "surname": "Okafor"}, ["immigration_status", "nationality"]),
        ({"person_id": "P", "surname": "Okafor", "postcode": "AB1"}, ["immigration_status"]),
        ({"person_id": "P"}, ["immigration_status", "leave_expiry"]),
    ]
    messages = [
        _message(
            "nhs",
            i,
            {
                "request_id": f"t-{i}",
                "requester": "nhs",
                "provider": "ho",
                "agreement_id": "nhs-ho",
                "purpose": "status",
                "query": {k: f"{v}{i}" for k, v in query.items()},
                "wanted": wanted,
                "sent_at": NOW - timedelta(seconds=i),
            },
        )
        for i, (query, wanted) in enumerate(shapes * 2)
    ]

    fast, log = same_outputs([messages], policy)

    plans = fast.decision_classes.plans
    assert len(plans) == 4 and fast.decision_classes.hits == 4
    assert all(plan.routed is not None for plan in plans)
    assert len({id(plan.routed) for plan in plans}) == 2  # wanting leave_expiry or not
    assert verify_messages(log, KEY.public_key).ok


def test_a_policy_change_forgets_every_compiled_class() -> None:
    fast, _ = pair()
    fast.process_batch([_message(r["requester"], i, r) for i, r in enumerate(_traffic(50, 3))], NOW)
    assert len(fast.decision_classes) > 0

    fast.policy = one_agreement("nhs-ho")

    assert len(fast.decision_classes) == 0


_NAMES = ["person_id", "case_reference", "surname", "nationality", "date_of_birth"]
_RESPONSE = ["immigration_status", "leave_expiry", "nationality", "surname", "person_id"]


@st.composite
def _policies(draw: st.DrawFn) -> CompiledPolicy:
    purposes = []
    for name in draw(st.lists(st.sampled_from(["status", "check"]), min_size=1, unique=True)):
        asks = draw(st.lists(st.sampled_from(_NAMES), min_size=1, unique=True))
        purposes.append(
            purpose(
                name,
                request_fields=asks,
                subject_identifiers=draw(st.lists(st.sampled_from(asks), min_size=1, unique=True)),
                response_fields=draw(st.lists(st.sampled_from(_RESPONSE), min_size=1, unique=True)),
            )
        )
    status = draw(st.sampled_from(["active", "active", "suspended"]))
    return one_agreement("nhs-ho", *purposes, status=status)


_VALUES = st.sampled_from(["A123", "  ", "", "zoë", "x y", "名前"]) | st.text(max_size=4)


@st.composite
def _requests(draw: st.DrawFn, offset: int) -> InputMessage:
    fields = {
        "request_id": draw(st.sampled_from([f"r-{offset}", f"r-{offset % 4}", "bad id"])),
        "requester": draw(st.sampled_from(["nhs", "nhs", "dwp"])),
        "provider": draw(st.sampled_from(["ho", "ho", "dfe"])),
        "agreement_id": draw(st.sampled_from(["nhs-ho", "nhs-ho", "other"])),
        "purpose": draw(st.sampled_from(["status", "check", "nope"])),
        "query": draw(st.dictionaries(st.sampled_from(_NAMES), _VALUES, max_size=4)),
        "wanted": draw(st.lists(st.sampled_from(_RESPONSE), max_size=3, unique=True)),
        "sent_at": NOW - timedelta(minutes=draw(st.sampled_from([0, 1, 2, 60 * 30]))),
    }
    sender = draw(st.sampled_from(["nhs", "nhs", "nhs", "dwp"]))
    return _message(sender, offset, fields)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=_policies(), data=st.data())
def test_random_policies_and_requests_give_the_references_bytes(
    policy: CompiledPolicy, data: st.DataObject
) -> None:
    """Requests of a few classes, repeated with other ids and values, some duplicated, some
    blank or ill-shaped, under an agreement with random purposes; in two batches."""
    messages = [data.draw(_requests(offset)) for offset in range(24)]

    _, log = same_outputs([messages[:12], messages[12:]], policy)

    assert verify_messages(log, KEY.public_key).ok
