"""Responses handled by their class's compiled plan give byte for byte the outputs of the
general way (the reference), with ids and times fixed: audit records, chain links, checkpoints
and replies with their signatures, whatever the policy, the provider's records and the ways a
response can be wrong."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plans_support import KEY, NOW, pair, same_outputs
from processor_support import CODEC, TOPICS, make_processor, one_agreement, purpose

from gateway.audit.verify import verify_messages
from gateway.bench._workload import encode_requests
from gateway.departments import answer_from_dataset, build_response
from gateway.departments.answers import Answer, index_records
from gateway.envelope.datasets import SUBJECT_IDENTIFIER_BY_PROVIDER
from gateway.envelope.models import ExchangeRequest, ProviderResponse, ResponseStatus, RoutedRequest
from gateway.exchange.messages import InputMessage, OutputMessage
from gateway.policy import CompiledPolicy
from gateway.synthetic.datasets import DEFAULT_SIZE, generate

ASKED = NOW - timedelta(minutes=5)
"""When the requests were decided, so their tokens are fresh at ``NOW``."""


class _Offsets:
    """Input coordinates: partition ``i % 3`` of a topic, at its next offset (no gaps)."""

    def __init__(self) -> None:
        self._next: Counter[tuple[str, int]] = Counter()

    def message(self, topic: str, i: int, value: bytes, **extra: Any) -> InputMessage:
        partition = i % 3
        offset = self._next[topic, partition]
        self._next[topic, partition] += 1
        return InputMessage(topic, partition, offset, b"k", value, **extra)


def _requests(n: int, seed: int, offsets: _Offsets) -> list[InputMessage]:
    """The benchmark's traffic mix, sent just before ``ASKED``."""
    inputs = []
    for i, m in enumerate(encode_requests(n, seed, TOPICS, "localhost:9", CODEC).messages):
        raw = CODEC.decode_record_as(m.value, "dx.gateway.ExchangeRequest")
        value = CODEC.encode_fields(ExchangeRequest, raw | {"sent_at": ASKED})
        inputs.append(offsets.message(m.topic, i, value))
    return inputs


def _routed(requests: Sequence[InputMessage], policy: CompiledPolicy | None) -> list[OutputMessage]:
    """What a processor routes to the providers' inboxes for ``requests``, decided at
    ``ASKED`` (the tokens depend only on the secret, shared by every test processor)."""
    out = make_processor(policy, decision_classes=0).process_batch(requests, ASKED)
    return [m for m in out.routed if (TOPICS.parse(m.topic) or ("",))[0] == "inbox"]


def _answered(routed: RoutedRequest, answer: Answer, dept: str) -> ProviderResponse:
    return build_response(routed, answer, responder=dept, codec=CODEC, now=NOW)


def _variants(responses: Sequence[ProviderResponse]) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """Each response, sometimes spoilt: ``(department whose topic carries it, value, extra
    InputMessage fields)``."""
    for i, response in enumerate(responses):
        dept, extra = response.responder, {}
        kind = i % 9
        if kind == 1:
            response = response.model_copy(update={"token": response.token[:-2] + "AA"})
        elif kind == 2:
            dept = "dwp" if dept != "dwp" else "nhs"  # on another department's topic
        elif kind == 3 and response.record is not None:
            response = response.model_copy(update={"record": response.record[:-3]})
        elif kind == 4:
            response = response.model_copy(
                update={"status": ResponseStatus.ERROR, "record": None, "error": "lookup failed"}
            )
        elif kind == 5:
            response = response.model_copy(update={"status": ResponseStatus.FOUND, "record": None})
        elif kind == 6:
            extra = {"replay_of": "0" * 32}
        yield dept, CODEC.encode(response), extra


def test_answers_to_the_traffic_mix_and_their_variations_give_the_references_bytes() -> None:
    """The providers' answers to the benchmark's traffic, then the same answers again
    (duplicates), and answers with altered tokens, on the wrong topic, with unreadable or
    missing records, errors, replays: most take a plan, and every output matches."""
    offsets = _Offsets()
    inputs = _requests(900, 11, offsets)
    answer = {
        dept: answer_from_dataset(index_records(generate(dept, DEFAULT_SIZE), ident), ident)
        for dept, ident in SUBJECT_IDENTIFIER_BY_PROVIDER.items()
    }
    responses = []
    for m in _routed(inputs, None):
        routed = CODEC.decode(m.value, RoutedRequest)
        responses.append(_answered(routed, answer[routed.provider](routed), routed.provider))
    firsts = [
        offsets.message(TOPICS.responses(r.responder), i, CODEC.encode(r))
        for i, r in enumerate(responses[:400])
    ]
    later = [
        offsets.message(TOPICS.responses(dept), i, value, **extra)
        for i, (dept, value, extra) in enumerate(_variants(responses[400:]))
    ]
    assert len(later) > 200
    batches = [firsts[:200], firsts[200:], firsts[:30] + later[:150], later[150:]]

    fast, log = same_outputs(batches)

    classes = fast.response_classes
    assert classes.compiled > 10
    assert classes.hits > 150
    assert verify_messages(log, KEY.public_key).ok


def test_a_policy_change_forgets_every_compiled_response_class() -> None:
    offsets = _Offsets()
    inputs = _requests(60, 5, offsets)
    answer = answer_from_dataset(
        index_records(generate("ho", DEFAULT_SIZE), "person_id"), "person_id"
    )
    fast, _ = pair()
    responses = [
        offsets.message(TOPICS.responses("ho"), i, CODEC.encode(_answered(r, answer(r), "ho")))
        for i, m in enumerate(_routed(inputs, None))
        if (r := CODEC.decode(m.value, RoutedRequest)).provider == "ho"
    ]
    fast.process_batch(responses, NOW)
    assert len(fast.response_classes) > 0

    fast.policy = one_agreement("nhs-ho")

    assert len(fast.response_classes) == 0


# --- random policies and records -----------------------------------------------------------

_ASKS = ["person_id", "surname", "nationality"]
_RELEASABLE = [
    "immigration_status",
    "leave_expiry",
    "nationality",
    "surname",
    "address.postcode",
    "address.line2",
    "conditions",
    "date_of_birth",
]
_TRANSFORMED = {
    "surname": {"path": "surname", "transform": {"mask": {"keep_last": 1}}},
    "address.postcode": {"path": "address.postcode", "transform": "generalise"},
}


@st.composite
def _policies(draw: st.DrawFn) -> CompiledPolicy:
    purposes = []
    for name in draw(st.lists(st.sampled_from(["status", "check"]), min_size=1, unique=True)):
        extra: dict[str, Any] = {}
        if draw(st.booleans()):
            extra["subject_conditions"] = {"min_age": 18}
        released: list[Any] = draw(st.lists(st.sampled_from(_RELEASABLE), min_size=1, unique=True))
        if draw(st.booleans()):
            released = [_TRANSFORMED.get(path, path) for path in released]
        purposes.append(purpose(name, request_fields=_ASKS, response_fields=released, **extra))
    return one_agreement("nhs-ho", *purposes)


@st.composite
def _records(draw: st.DrawFn, person_id: str) -> dict[str, Any]:
    """An Immigration Status record of ``person_id`` with random values (a minor sometimes,
    optional fields sometimes null, text sometimes not ASCII)."""
    text = st.sampled_from(["Smith", "Zoë", "名前", "", "O'Neil"])
    born = draw(st.sampled_from([date(1980, 5, 1), date(2015, 2, 3), date(2008, 11, 26)]))
    return {
        "person_id": person_id,
        "surname": draw(text),
        "forenames": draw(text),
        "date_of_birth": born,
        "nationality": draw(st.sampled_from(["POL", "IND"])),
        "immigration_status": draw(st.sampled_from(["SETTLED", "LIMITED_LEAVE"])),
        "leave_expiry": draw(st.sampled_from([None, date(2027, 1, 1)])),
        "conditions": {
            "right_to_work": draw(st.booleans()),
            "right_to_rent": True,
            "no_recourse_to_public_funds": False,
            "immigration_health_surcharge_paid": True,
        },
        "case_reference": "HO-1",
        "address": {
            "line1": "1 High St",
            "line2": draw(st.sampled_from([None, "Flat 2"])),
            "town": "Leeds",
            "postcode": "LS1 1AA",
        },
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=_policies(), data=st.data())
def test_random_policies_and_records_give_the_references_bytes(
    policy: CompiledPolicy, data: st.DataObject
) -> None:
    """Answers of a few classes (purposes, wanted fields, found or not) with random records
    under an agreement with random purposes, transforms and age conditions; in two batches,
    the second repeating some answers."""
    offsets = _Offsets()
    requests = []
    for i in range(16):
        fields = {
            "request_id": f"r-{i}",
            "requester": "nhs",
            "provider": "ho",
            "agreement_id": "nhs-ho",
            "purpose": data.draw(st.sampled_from(["status", "check"])),
            "query": {"person_id": f"P{i}"},
            "wanted": data.draw(st.lists(st.sampled_from(_RELEASABLE), max_size=2, unique=True)),
            "sent_at": ASKED,
        }
        value = CODEC.encode_fields(ExchangeRequest, fields)
        requests.append(offsets.message(TOPICS.requests("nhs"), i, value))
    answers = []
    for i, m in enumerate(_routed(requests, policy)):
        routed = CODEC.decode(m.value, RoutedRequest)
        found = data.draw(st.sampled_from([True, True, True, False]))
        record = data.draw(_records(routed.query["person_id"])) if found else None
        status = ResponseStatus.FOUND if found else ResponseStatus.NOT_FOUND
        response = _answered(routed, Answer(status, record), "ho")
        answers.append(offsets.message(TOPICS.responses("ho"), i, CODEC.encode(response)))
    again = data.draw(st.lists(st.sampled_from(answers), max_size=4)) if answers else []

    _, log = same_outputs([answers[:8], answers[8:] + again], policy)

    assert verify_messages(log, KEY.public_key).ok
