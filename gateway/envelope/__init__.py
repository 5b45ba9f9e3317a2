"""Envelope: the gateway's messages as pydantic models, their Avro schemas, the wire codec and
the topics they travel on."""

from gateway.envelope.codec import ENVELOPE_NAMESPACE, Codec
from gateway.envelope.datasets import (
    DATASET_BY_PROVIDER,
    SUBJECT_IDENTIFIER_BY_PROVIDER,
    field_paths,
)
from gateway.envelope.models import (
    AgreementId,
    AuditCheckpoint,
    AuditOutcome,
    AuditRecord,
    AuditStage,
    CappedRequest,
    DeadLetter,
    DeptId,
    ExchangeRequest,
    ProviderResponse,
    Reason,
    Reply,
    ReplyOutcome,
    RequestId,
    ResponseStatus,
    RoutedRequest,
)
from gateway.envelope.schemas import (
    MARKER,
    RegisteredSchema,
    SchemaRegistry,
    default_schemas_dir,
)
from gateway.envelope.topics import TopicNames

__all__ = [
    "DATASET_BY_PROVIDER",
    "ENVELOPE_NAMESPACE",
    "MARKER",
    "SUBJECT_IDENTIFIER_BY_PROVIDER",
    "AgreementId",
    "AuditCheckpoint",
    "AuditOutcome",
    "AuditRecord",
    "AuditStage",
    "CappedRequest",
    "Codec",
    "DeadLetter",
    "DeptId",
    "ExchangeRequest",
    "ProviderResponse",
    "Reason",
    "RegisteredSchema",
    "Reply",
    "ReplyOutcome",
    "RequestId",
    "ResponseStatus",
    "RoutedRequest",
    "SchemaRegistry",
    "TopicNames",
    "default_schemas_dir",
    "field_paths",
]
