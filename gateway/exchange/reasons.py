"""The reasons the exchange processor gives, and how error text is made safe for the audit log."""

from __future__ import annotations

import re
from collections.abc import Sequence

from gateway.envelope.models import Reason

__all__ = [
    "BEFORE_REPLAY_HORIZON",
    "DUPLICATE_REQUEST",
    "DUPLICATE_RESPONSE",
    "FORWARD_UNAUTHENTICATED",
    "NOTHING_TO_RELEASE",
    "UNREADABLE_RECORD",
    "audit_safe",
    "transformed_reason",
    "withheld_reason",
]

DUPLICATE_REQUEST = Reason(
    code="exchange.duplicate_request",
    message="this request id was already decided; the redelivered copy is not answered again",
)
DUPLICATE_RESPONSE = Reason(
    code="exchange.duplicate_response",
    message="this request was already answered; a second response is not released",
)
BEFORE_REPLAY_HORIZON = Reason(
    code="exchange.before_replay_horizon",
    message="this response's approval is older than the gateway's memory of released responses "
    "reaches back; it cannot prove the response was not released already, so nothing is released",
)

FORWARD_UNAUTHENTICATED = Reason(
    code="capped.unauthenticated",
    message="a record on the capped topic without a valid gateway forwarding MAC: its sender and "
    "coordinates cannot be trusted, so it is refused and nothing is decided or routed",
)
NOTHING_TO_RELEASE = Reason(
    code="response.no_record", message="the provider holds no record for this subject"
)
UNREADABLE_RECORD = Reason(
    code="response.unreadable",
    message="the provider's record could not be read against its dataset schema; nothing released",
)


def transformed_reason(transformed: Sequence[str]) -> Reason:
    return Reason(
        code="fields.transformed",
        message=f"{len(transformed)} field(s) were released in a reduced form "
        "(path:transform): " + ", ".join(transformed),
    )


def withheld_reason(withheld: Sequence[str]) -> Reason:
    return Reason(
        code="fields.withheld",
        message=f"{len(withheld)} field(s) the purpose does not allow were withheld: "
        + ", ".join(withheld),
    )


_QUOTED_INPUT = re.compile(r"input_value=.*?(?=, input_type=|\]|$)", re.MULTILINE)


def audit_safe(reason: str, limit: int = 300) -> str:
    """Error text for the audit log: bounded, with any quoted input value removed."""
    text = _QUOTED_INPUT.sub("input_value=<withheld>", reason)
    return text if len(text) <= limit else text[: limit - 1] + "…"
