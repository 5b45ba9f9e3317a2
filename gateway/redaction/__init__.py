"""Field paths, request minimisation, response redaction and field transforms (pure; no I/O).

``compile_paths`` turns an allow-list such as ``["address.postcode", "employments[].pay"]`` into
a :class:`PathSet`; ``compile_transforms`` turns ``(path, transform)`` rules into a
:class:`TransformPlan`; ``minimise_query`` drops query fields a purpose may not send; ``redact``
keeps only the allowed parts of a provider's record, transforms them, and reports the leaf paths
it released, transformed and withheld.
"""

from gateway.redaction.paths import (
    EMPTY_PATHS,
    PathNode,
    PathSet,
    Segment,
    compile_paths,
    format_path,
    leaf_paths,
    parse_path,
)
from gateway.redaction.pipeline import RedactionResult, RedactionStep, minimise_query, redact
from gateway.redaction.plan import EMPTY_PLAN, PlanNode, TransformPlan, compile_transforms
from gateway.redaction.transforms import (
    KEEP,
    TransformKind,
    TransformSpec,
    derive_pseudonym_key,
    parse_transform,
)

__all__ = [
    "EMPTY_PATHS",
    "EMPTY_PLAN",
    "KEEP",
    "PathNode",
    "PathSet",
    "PlanNode",
    "RedactionResult",
    "RedactionStep",
    "Segment",
    "TransformKind",
    "TransformPlan",
    "TransformSpec",
    "compile_paths",
    "compile_transforms",
    "derive_pseudonym_key",
    "format_path",
    "leaf_paths",
    "minimise_query",
    "parse_path",
    "parse_transform",
    "redact",
]
