"""Synthetic material for demos, tests and benchmarks, pure and deterministic by seed: the
providers' invented datasets (:mod:`~gateway.synthetic.datasets`) and a plan of requester
traffic over the shipped agreements (:mod:`~gateway.synthetic.traffic`)."""

from gateway.synthetic.datasets import DEFAULT_SEED, DEFAULT_SIZE, PROVIDERS, generate, generate_all
from gateway.synthetic.traffic import MIX, PlannedRequest, RequestKind, plan_requests

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_SIZE",
    "MIX",
    "PROVIDERS",
    "PlannedRequest",
    "RequestKind",
    "generate",
    "generate_all",
    "plan_requests",
]
