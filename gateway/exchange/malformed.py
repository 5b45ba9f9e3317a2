"""Requests without the envelope's shape: reasons that name each field and the rule it breaks,
and never the value (see :mod:`gateway.audit.withheld`); and what of such a request can be
trusted enough to send its requester a denial."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from gateway.audit.withheld import WithheldValues
from gateway.envelope.models import (
    DEPARTMENT_PATTERN,
    POLICY_ID_PATTERN,
    REQUEST_ID_PATTERN,
    Reason,
)

__all__ = ["malformed_reasons", "recovered_request_id", "reply_parties"]

MALFORMED_REQUEST = "request.malformed"
"""The reason code (and dead-letter code) of a request that does not have the envelope's shape."""

_SHAPES = {
    "request_id": "a request id: 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'",
    "requester": "a department code: a lower-case letter, then up to 31 of a-z, 0-9 and '_'",
    "provider": "a department code: a lower-case letter, then up to 31 of a-z, 0-9 and '_'",
    "agreement_id": "an agreement id: a lower-case slug of up to 64 characters (a-z, 0-9, '-')",
    "purpose": "a purpose id: a lower-case slug of up to 64 characters (a-z, 0-9, '-')",
}
_PATTERNS = {
    "request_id": re.compile(REQUEST_ID_PATTERN),
    "requester": re.compile(DEPARTMENT_PATTERN),
    "provider": re.compile(DEPARTMENT_PATTERN),
    "agreement_id": re.compile(POLICY_ID_PATTERN),
    "purpose": re.compile(POLICY_ID_PATTERN),
}
_SHOWN = 5
"""Withheld values listed per field at most; the rest are counted."""


def malformed_reasons(
    raw: Mapping[str, Any], error: ValidationError, withheld: WithheldValues
) -> list[Reason]:
    """One ``request.malformed`` reason per field of ``raw`` (the request's decoded Avro record)
    that ``error`` found wrong; offending values appear only as ``withheld`` describes them."""
    problems: dict[str, str] = {}
    bad_keys: list[object] = []
    bad_paths: list[object] = []
    for err in error.errors(include_url=False, include_input=False):
        loc = err["loc"]
        field = str(loc[0]) if loc else "request"
        if field in _SHAPES:
            problems[field] = (
                f"{field} must be {_SHAPES[field]}; got {withheld.invalid(raw[field])}"
            )
        elif err["type"] == "too_long" and len(loc) == 1:
            limit = (err.get("ctx") or {}).get("max_length")
            problems[field] = f"{field} has {len(raw[field])} entries; at most {limit} are allowed"
        elif field == "query" and len(loc) == 3 and loc[2] == "[key]":
            bad_keys.append(loc[1])
        elif field == "wanted" and len(loc) == 2 and isinstance(loc[1], int):
            bad_paths.append(raw["wanted"][loc[1]])
        else:  # a place and a rule, never a value or a key
            where = ".".join(str(p) for p in loc if isinstance(p, int) or p == loc[0])
            problems.setdefault(field, f"{where or field}: {err['msg']}")
    if bad_keys:
        problems["query"] = (
            f"query has {len(bad_keys)} key(s) that are not field names "
            f"([a-z][a-z0-9_]{{0,63}}): {_listed(bad_keys, withheld)}"
        )
    if bad_paths and "wanted" not in problems:
        problems["wanted"] = (
            f"wanted has {len(bad_paths)} entr(ies) that are not field paths: "
            f"{_listed(bad_paths, withheld)}"
        )
    return [Reason(code=MALFORMED_REQUEST, message=m) for m in problems.values()]


def _listed(values: Sequence[object], withheld: WithheldValues) -> str:
    shown = ", ".join(withheld.invalid(v) for v in values[:_SHOWN])
    more = len(values) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def recovered_request_id(raw: Mapping[str, Any]) -> str | None:
    """The request id of a malformed request when it has its shape (then it may key a reply
    and be named in the audit log), else None."""
    return _well_shaped(raw, "request_id")


def reply_parties(raw: Mapping[str, Any], withheld: WithheldValues) -> dict[str, str]:
    """Provider, agreement and purpose for the denial of a malformed request: each as it was
    asked for when it has its shape, else as ``withheld`` describes it."""
    return {
        name: shaped
        if (shaped := _well_shaped(raw, name)) is not None
        else withheld.invalid(raw[name])
        for name in ("provider", "agreement_id", "purpose")
    }


def _well_shaped(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    return value if isinstance(value, str) and _PATTERNS[name].fullmatch(value) else None
