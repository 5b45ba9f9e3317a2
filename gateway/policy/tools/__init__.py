"""Tools for compliance officers: check, explain, diff, simulate, and the register.

Each tool is a pure function over loaded policies (and, for simulate and the register, audit
records); the ``gateway policy`` and ``gateway register`` commands are thin layers over them.

- :func:`check_policies` validates a directory and lints every agreement (:class:`CheckReport`);
- :func:`explain_request` decides one request and says why (:class:`Explanation`);
- :func:`diff_policies` lists what a new revision changes, in plain language (:class:`Change`);
- :func:`simulate` replays recorded decisions under a candidate policy (:class:`SimulationReport`);
- :func:`build_register` lists every agreement and, given audit records, its use
  (:class:`Register`).
"""

from gateway.policy.tools._load import load_compiled
from gateway.policy.tools.audit_source import AuditFile, decode_audit_messages
from gateway.policy.tools.check import CheckReport, Finding, Severity, check_policies
from gateway.policy.tools.diff import Change, diff_policies
from gateway.policy.tools.diff_formats import render_changes
from gateway.policy.tools.explain import Explanation, explain_request, read_request_file
from gateway.policy.tools.register import (
    Register,
    RegisterEntry,
    Usage,
    build_register,
    usage_from_records,
)
from gateway.policy.tools.register_formats import render_register
from gateway.policy.tools.simulate import DecisionChange, SimulationReport, simulate

__all__ = [
    "AuditFile",
    "Change",
    "CheckReport",
    "DecisionChange",
    "Explanation",
    "Finding",
    "Register",
    "RegisterEntry",
    "Severity",
    "SimulationReport",
    "Usage",
    "build_register",
    "check_policies",
    "decode_audit_messages",
    "diff_policies",
    "explain_request",
    "load_compiled",
    "read_request_file",
    "render_changes",
    "render_register",
    "simulate",
    "usage_from_records",
]
