"""Data-sharing agreements: load, compile, decide.

``load_policies(dir)`` reads and validates the agreement files into a :class:`PolicySet`;
``compile_policies`` freezes them into a :class:`CompiledPolicy`; ``decide`` is the pure,
default-deny decision for one request.
"""

from gateway.policy.compiler import (
    CompiledAgreement,
    CompiledPolicy,
    CompiledPurpose,
    compile_policies,
)
from gateway.policy.decision import Decision, decide
from gateway.policy.loader import POLICY_SUFFIXES, load_policies
from gateway.policy.model import (
    Agreement,
    AgreementStatus,
    PolicySet,
    ProhibitedPurpose,
    Purpose,
)
from gateway.policy.rules import Rule

__all__ = [
    "POLICY_SUFFIXES",
    "Agreement",
    "AgreementStatus",
    "CompiledAgreement",
    "CompiledPolicy",
    "CompiledPurpose",
    "Decision",
    "PolicySet",
    "ProhibitedPurpose",
    "Purpose",
    "Rule",
    "compile_policies",
    "decide",
    "load_policies",
]
