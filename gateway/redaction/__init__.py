"""Field paths, request minimisation and response redaction (pure; no I/O).

``compile_paths`` turns an allow-list such as ``["address.postcode", "employments[].pay"]`` into
a :class:`PathSet`; ``minimise_query`` drops query fields a purpose may not send; ``redact`` keeps
only the allowed parts of a provider's record and reports the leaf paths it released and withheld.
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

__all__ = [
    "EMPTY_PATHS",
    "PathNode",
    "PathSet",
    "RedactionResult",
    "RedactionStep",
    "Segment",
    "compile_paths",
    "format_path",
    "leaf_paths",
    "minimise_query",
    "parse_path",
    "redact",
]
