"""Data-sharing agreements: load, compile, decide, reload.

``load_policies(dir)`` reads and validates the agreement files (and ``global.yaml``) into a
:class:`PolicySet`; ``compile_policies`` checks them against the dataset schemas and freezes them
into a :class:`CompiledPolicy`; ``decide`` is the pure, default-deny decision for one request,
reading volume caps through a :class:`VolumeCounter`. :class:`PolicyWatcher` reloads a changed
directory into a :class:`PolicyHolder` and describes each change (:class:`PolicyChange`).
"""

from gateway.policy.caps import (
    CapKey,
    CapLimits,
    InMemoryVolumeCounter,
    VolumeCounter,
    approvals,
    cap_key_bytes,
    restore_from_audit,
)
from gateway.policy.changes import PolicyChange, describe_change
from gateway.policy.clock import DEFAULT_SENT_AT_WINDOW, SentAtWindow, utc_day
from gateway.policy.compiler import (
    CompiledAgreement,
    CompiledPolicy,
    CompiledPurpose,
    compile_policies,
)
from gateway.policy.conditions import SubjectRule
from gateway.policy.datasets import DatasetShape, dataset_shape, shipped_datasets
from gateway.policy.decision import Decision, decide
from gateway.policy.loader import POLICY_SUFFIXES, load_policies
from gateway.policy.model import (
    Agreement,
    AgreementStatus,
    Caps,
    Children,
    FieldRule,
    PolicySet,
    ProhibitedPurpose,
    Purpose,
    SubjectConditions,
)
from gateway.policy.prohibitions import GlobalPolicy, GlobalProhibition
from gateway.policy.rules import Rule
from gateway.policy.watcher import PolicyHolder, PolicyRejected, PolicyWatcher

__all__ = [
    "DEFAULT_SENT_AT_WINDOW",
    "POLICY_SUFFIXES",
    "Agreement",
    "AgreementStatus",
    "CapKey",
    "CapLimits",
    "Caps",
    "Children",
    "CompiledAgreement",
    "CompiledPolicy",
    "CompiledPurpose",
    "DatasetShape",
    "Decision",
    "FieldRule",
    "GlobalPolicy",
    "GlobalProhibition",
    "InMemoryVolumeCounter",
    "PolicyChange",
    "PolicyHolder",
    "PolicyRejected",
    "PolicySet",
    "PolicyWatcher",
    "ProhibitedPurpose",
    "Purpose",
    "Rule",
    "SentAtWindow",
    "SubjectConditions",
    "SubjectRule",
    "VolumeCounter",
    "approvals",
    "cap_key_bytes",
    "compile_policies",
    "dataset_shape",
    "decide",
    "describe_change",
    "load_policies",
    "restore_from_audit",
    "shipped_datasets",
    "utc_day",
]
