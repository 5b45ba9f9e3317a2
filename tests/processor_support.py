"""One way to build the exchange processor in tests (the ``processor_factory`` fixture of
``tests/conftest.py`` hands out :func:`make_processor`), and the one-agreement policies the
processor tests decide under."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.audit.subject import SubjectKeyer
from gateway.envelope.codec import Codec
from gateway.envelope.topics import TopicNames
from gateway.exchange.processor import ExchangeProcessor
from gateway.exchange.tokens import TokenSigner
from gateway.policy import CompiledPolicy, PolicySet, compile_policies, load_policies

__all__ = [
    "CODEC",
    "POLICIES",
    "SUBJECT_SECRET",
    "TOKEN_SECRET",
    "TOPICS",
    "ProcessorFactory",
    "make_processor",
    "one_agreement",
    "purpose",
]

POLICIES = Path(__file__).parents[1] / "policies"
"""The agreements the project ships."""
CODEC = Codec.default()
TOPICS = TopicNames()
TOKEN_SECRET = b"test-token-secret-0123456789"
SUBJECT_SECRET = b"test-subject-secret-0123456789"

ProcessorFactory = Callable[..., ExchangeProcessor]


def make_processor(policy: CompiledPolicy | None = None, **options: Any) -> ExchangeProcessor:
    """A processor ``gw-test`` with the test secrets, deciding under ``policy`` (default: the
    shipped agreements); ``options`` are any other arguments of :class:`ExchangeProcessor`."""
    options.setdefault("codec", CODEC)
    options.setdefault("topics", TOPICS)
    options.setdefault("signer", TokenSigner(TOKEN_SECRET))
    options.setdefault("subjects", SubjectKeyer(SUBJECT_SECRET))
    options.setdefault("instance_id", "gw-test")
    return ExchangeProcessor(
        policy=policy if policy is not None else compile_policies(load_policies(POLICIES)),
        **options,
    )


def purpose(purpose_id: str, **extra: Any) -> dict[str, Any]:
    """A purpose asking the Home Office for a status by ``person_id``, as an agreement file has
    it; ``extra`` adds or replaces keys (``caps``, ``response_fields``, ...)."""
    return {
        "id": purpose_id,
        "description": "d",
        "subject_identifiers": ["person_id"],
        "request_fields": ["person_id"],
        "response_fields": ["immigration_status"],
        **extra,
    }


def one_agreement(agreement_id: str, *purposes: dict[str, Any], **extra: Any) -> CompiledPolicy:
    """The compiled policy of one active agreement letting the NHS ask the Home Office for
    ``purposes`` (default: one purpose ``status``); ``extra`` adds or replaces agreement keys."""
    agreement: dict[str, Any] = {
        "id": agreement_id,
        "title": "t",
        "requester": "nhs",
        "provider": "ho",
        "legal_basis": "b",
        "reference": "r",
        "owner": "o",
        "status": "active",
        "valid_from": "2020-01-01",
        "purposes": list(purposes) or [purpose("status")],
        **extra,
    }
    return compile_policies(PolicySet.of([agreement]))
