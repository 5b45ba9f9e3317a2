"""One error hierarchy for the whole gateway.

Every error has a stable ``code`` (used in dead-letter and audit records, and mapped to CLI exit
statuses in one table in :mod:`gateway.cli`) and a ``retriable`` flag, so callers decide whether
to retry by reading an attribute rather than parsing text.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuditError",
    "AuditExportError",
    "AuditKeyError",
    "AuditStoreError",
    "AuditStoreUnavailable",
    "BrokerError",
    "ChainBrokenError",
    "ConfigError",
    "DecodeError",
    "EnvelopeError",
    "ExchangeError",
    "GatewayError",
    "IdentityError",
    "PolicyError",
    "PolicyLoadError",
    "SchemaError",
    "SigningKeyError",
    "TransportError",
    "UnknownSchemaError",
]


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""

    code: ClassVar[str] = "gateway_error"
    retriable: ClassVar[bool] = False


class ConfigError(GatewayError):
    """Settings or command-line input that cannot be used."""

    code = "config_error"


# --- envelope -------------------------------------------------------------------------------


class EnvelopeError(GatewayError):
    """A message that cannot be turned into a valid envelope."""

    code = "envelope_error"


class SchemaError(EnvelopeError):
    """An Avro schema file that is missing or invalid."""

    code = "schema_error"


class DecodeError(EnvelopeError):
    """Bytes that are not a valid single-object-encoded Avro message of the expected type."""

    code = "undecodable"


class UnknownSchemaError(DecodeError):
    """Single-object bytes whose schema fingerprint is not one we know."""

    code = "unknown_schema"


class SigningKeyError(ConfigError):
    """A message signing or verification key that cannot be loaded."""

    code = "signing_key_invalid"


# --- exchange -------------------------------------------------------------------------------


class ExchangeError(GatewayError):
    """A well-formed message the gateway refuses to process as an exchange."""

    code = "exchange_error"


class IdentityError(ExchangeError):
    """A message whose sender is not who it claims to be."""

    code = "identity_mismatch"


# --- policy ---------------------------------------------------------------------------------


class PolicyError(GatewayError):
    """A policy problem."""

    code = "policy_error"


class PolicyLoadError(PolicyError):
    """Agreement files that cannot be loaded or compiled; carries every problem found."""

    code = "policy_invalid"

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) if self.problems else "invalid policy set")


# --- transport ------------------------------------------------------------------------------


class TransportError(GatewayError):
    """Kafka could not be reached or did not acknowledge a write."""

    code = "transport_error"
    retriable = True


class BrokerError(TransportError):
    """A broker the project starts itself (embedded or Apache Kafka) failed to start or set up."""

    code = "broker_error"
    retriable = False


# --- audit ----------------------------------------------------------------------------------


class AuditError(GatewayError):
    """A problem with the tamper-evident audit log."""

    code = "audit_error"


class ChainBrokenError(AuditError):
    """An audit chain that does not verify, or cannot be continued from its last record."""

    code = "audit_chain_broken"


class AuditExportError(AuditError):
    """An audit export or saved checkpoint file that cannot be read."""

    code = "audit_export_invalid"


class AuditKeyError(AuditError, ConfigError):
    """A checkpoint signing or verification key that cannot be loaded."""

    code = "audit_key_invalid"


class AuditStoreError(AuditError):
    """The audit store (the queryable index of the audit topic) refused an operation."""

    code = "audit_store_error"


class AuditStoreUnavailable(AuditStoreError):
    """The audit store cannot be reached or is busy; the same operation may succeed later."""

    code = "audit_store_unavailable"
    retriable = True
