"""The tools' public surface: a deliberate Python API and the commands users run."""

from __future__ import annotations

import subprocess
import sys

import gateway.policy.tools as tools


def test_the_python_api_is_exactly_what_it_declares() -> None:
    assert sorted(tools.__all__) == sorted(
        [
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
    )
    for name in tools.__all__:
        assert getattr(tools, name) is not None


def test_the_gateway_command_lists_the_policy_tools_and_the_register() -> None:
    top = subprocess.run(
        [sys.executable, "-m", "gateway", "--help"], capture_output=True, text=True, timeout=60
    )
    group = subprocess.run(
        [sys.executable, "-m", "gateway", "policy", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "policy" in top.stdout and "register" in top.stdout
    for command in ("check", "explain", "diff", "simulate"):
        assert command in group.stdout
