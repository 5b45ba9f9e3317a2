"""The messages that cross the gateway, as pydantic models.

Each model maps one-to-one onto an Avro schema in ``schemas/`` (see :mod:`gateway.envelope.codec`).
Timestamps are timezone-aware UTC datetimes (Avro ``timestamp-millis``). Field names in
``query`` and ``wanted`` are data-field names or dotted paths (``address.postcode``), never values.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, NewType

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "DEPARTMENT_PATTERN",
    "POLICY_ID_PATTERN",
    "REQUEST_ID_PATTERN",
    "AgreementId",
    "AuditCheckpoint",
    "AuditOutcome",
    "AuditRecord",
    "AuditStage",
    "CappedRequest",
    "DeadLetter",
    "DepartmentCode",
    "DeptId",
    "ExchangeId",
    "ExchangeRequest",
    "PolicyId",
    "ProviderResponse",
    "Reason",
    "Reply",
    "ReplyOutcome",
    "RequestId",
    "ResponseStatus",
    "RoutedRequest",
]

DeptId = NewType("DeptId", str)
RequestId = NewType("RequestId", str)
AgreementId = NewType("AgreementId", str)


DEPARTMENT_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
"""A department code (``ho``, ``dfe``): what settings, agreements and topic names use."""
POLICY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
"""An agreement or purpose id as a request names it: a lower-case slug of at most 64
characters (agreements write them in lower kebab case, a narrower shape)."""
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
"""A request id: a UUID (with or without dashes), or any id of these characters."""

DepartmentCode = Annotated[str, StringConstraints(pattern=DEPARTMENT_PATTERN)]
PolicyId = Annotated[str, StringConstraints(pattern=POLICY_ID_PATTERN)]
ExchangeId = Annotated[str, StringConstraints(pattern=REQUEST_ID_PATTERN)]
"""The identifiers of a request reach the audit log and the reasons in it, so, like field names,
they are kept to identifier shapes: a requester cannot write personal data into the log as a
purpose, an agreement id, a department or a request id."""

FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
"""A data field's name. Names, unlike values, reach the audit log, so they are kept to this
shape: a requester cannot smuggle personal data into the log as a field name."""
FieldPath = Annotated[
    str,
    StringConstraints(
        pattern=r"^[a-z][a-z0-9_]*(\[\])?(\.[a-z][a-z0-9_]*(\[\])?)*$", max_length=200
    ),
]
"""A dotted field path such as ``address.postcode`` or ``employments[].employer_name``."""


class _Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reason(_Envelope):
    """Why a decision went the way it did: a stable rule id and plain-English text."""

    code: str
    message: str


class ExchangeRequest(_Envelope):
    """What a department publishes on ``dx.requests.<dept>``: a question about one subject."""

    request_id: ExchangeId
    requester: DepartmentCode
    provider: DepartmentCode
    agreement_id: PolicyId
    purpose: PolicyId
    query: dict[FieldName, str] = Field(default_factory=dict, max_length=64)
    """Identifiers and matching attributes the requester supplies (values are personal data)."""
    wanted: list[FieldPath] = Field(default_factory=list, max_length=256)
    """Response fields asked for; empty means everything the purpose allows."""
    sent_at: datetime


class RoutedRequest(_Envelope):
    """An approved, minimised request on the provider's ``dx.inbox.<dept>``."""

    request_id: str
    requester: str
    provider: str
    agreement_id: str
    purpose: str
    query: dict[str, str]
    wanted: list[str]
    """Response fields the provider may return: the purpose's allow-list, narrowed by the ask."""
    policy_version: str
    issued_at: datetime
    token: str
    """Gateway-issued proof of approval; the response must carry it back unchanged."""


class CappedRequest(_Envelope):
    """A request under a capped purpose, forwarded undecided to ``dx.capped``, keyed by its cap
    key (``agreement|purpose|sender``), so one instance decides every request of that key."""

    sender: str
    """The department whose requests topic carried the request: the requester its cap counts."""
    input_topic: str
    """Where the request arrived; its audit record names these coordinates."""
    input_partition: int
    input_offset: int
    request: bytes
    """The request exactly as sent: a single-object encoded :class:`ExchangeRequest`."""
    mac: bytes
    """The forwarding instance's MAC over the fields above
    (:class:`gateway.exchange.forwarding.ForwardSigner`): the receiving instance believes sender
    and coordinates only when it verifies."""


class ResponseStatus(StrEnum):
    FOUND = "FOUND"
    NOT_FOUND = "NOT_FOUND"
    ERROR = "ERROR"


class ProviderResponse(_Envelope):
    """A provider's answer on ``dx.responses.<dept>``, echoing the routed request's context."""

    request_id: str
    responder: str
    requester: str
    agreement_id: str
    purpose: str
    wanted: list[str]
    issued_at: datetime
    token: str
    status: ResponseStatus
    record: bytes | None = None
    """The subject's record, Avro single-object encoded with the provider's dataset schema."""
    error: str | None = None
    sent_at: datetime


class ReplyOutcome(StrEnum):
    APPROVED = "APPROVED"
    """Answered; nothing the provider sent had to be withheld."""
    REDACTED = "REDACTED"
    """Answered; fields the purpose does not allow were withheld."""
    DENIED = "DENIED"
    """Not routed; ``reasons`` say why."""


class Reply(_Envelope):
    """What the requester receives on ``dx.replies.<dept>``."""

    request_id: str
    requester: str
    provider: str
    agreement_id: str
    purpose: str
    outcome: ReplyOutcome
    reasons: list[Reason] = Field(default_factory=list)
    status: ResponseStatus | None = None
    record_json: str | None = None
    """Released fields as a JSON object; its shape depends on the purpose."""
    released_fields: list[str] = Field(default_factory=list)
    withheld_fields: list[str] = Field(default_factory=list)
    removed_query_fields: list[str] = Field(default_factory=list)
    policy_version: str
    replied_at: datetime


class AuditStage(StrEnum):
    REQUEST = "REQUEST"
    RESPONSE = "RESPONSE"
    INPUT = "INPUT"
    """Input that never became an exchange: undecodable bytes, unknown topics."""
    POLICY = "POLICY"
    """A change of the active policy set, applied or rejected."""


class AuditOutcome(StrEnum):
    APPROVED = "APPROVED"
    APPROVED_MINIMISED = "APPROVED_MINIMISED"
    DENIED = "DENIED"
    RELEASED = "RELEASED"
    REDACTED = "REDACTED"
    BLOCKED = "BLOCKED"
    DEAD_LETTERED = "DEAD_LETTERED"
    DUPLICATE = "DUPLICATE"
    """A redelivered request or a repeated response: recognised, recorded, not answered twice."""
    INPUT_GAP = "INPUT_GAP"
    """Input offsets the gateway never read (deleted before it got to them): ``input.gap``."""
    POLICY_APPLIED = "POLICY_APPLIED"
    """A new policy set took effect; ``reasons`` say what changed, ``policy_version`` is new."""
    POLICY_REJECTED = "POLICY_REJECTED"
    """A changed policy directory did not load; the version in force stayed."""


class AuditRecord(_Envelope):
    """One decision, provable afterwards. Field names and pseudonymous keys, never values.

    ``prev_hash`` and ``sequence`` come first, so a verifier reads them from the raw bytes right
    after the 10-byte single-object header without decoding the rest (see
    :mod:`gateway.audit.chain`). A message's hash is the SHA-256 of its complete bytes.
    """

    prev_hash: str
    """Hex SHA-256 of the previous message in this audit partition; the partition's genesis
    value for the first; empty when the chain is switched off."""
    sequence: int
    """Position in this audit partition's chain, from 0; -1 when the chain is switched off."""
    decision_id: str
    request_id: str | None
    stage: AuditStage
    at: datetime
    requester: str | None
    provider: str | None
    agreement_id: str | None
    purpose: str | None
    outcome: AuditOutcome
    reasons: list[Reason]
    fields_requested: list[str] = Field(default_factory=list)
    fields_released: list[str] = Field(default_factory=list)
    fields_transformed: list[str] = Field(default_factory=list)
    fields_withheld: list[str] = Field(default_factory=list)
    subject_key: str | None = None
    """Keyed hash of the subject's identifier: finds one person's records without naming them."""
    policy_version: str
    input_topic: str
    input_partition: int
    input_offset: int
    gateway_instance: str
    sent_at: datetime | None = None
    """When the request says it was sent (its ``sent_at``), for request-stage records; the
    decision itself is made at ``at``, when the gateway received it. None for other stages and
    for records written before it was audited."""


class AuditCheckpoint(_Envelope):
    """A signed statement of an audit partition's chain head, itself a link in that chain.

    It certifies that the messages before ``sequence`` end with hash ``prev_hash``. The Ed25519
    ``signature`` covers :func:`gateway.audit.checkpoint.signed_bytes` of the other fields.
    """

    prev_hash: str
    """Hex SHA-256 of the message before this one: the head this checkpoint certifies."""
    sequence: int
    """This checkpoint's own position in the chain."""
    partition: int
    """The audit partition whose chain this is."""
    at: datetime
    gateway_instance: str
    key_id: str
    """Which signing key: the first 16 hex digits of SHA-256 of the raw public key."""
    signature: bytes


class DeadLetter(_Envelope):
    """Input the gateway could not process, kept with the reason on ``dx.deadletter``."""

    dead_letter_id: str
    at: datetime
    input_topic: str
    input_partition: int
    input_offset: int
    key: bytes | None
    payload: bytes
    error_code: str
    reason: str
    gateway_instance: str
