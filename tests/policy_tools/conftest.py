"""Fixtures for the compliance tools' tests; plain helpers live in policy_tools_support."""

from policy_tools_support import audit_record, policy_dir

__all__ = ["audit_record", "policy_dir"]
