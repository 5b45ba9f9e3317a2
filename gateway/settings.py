"""One settings object for the gateway, read from ``GATEWAY_*`` environment variables.

It fails closed: an unusable value stops start-up with a clear message instead of falling back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gateway.envelope.models import DEPARTMENT_PATTERN
from gateway.errors import ConfigError
from gateway.policy.clock import SentAtWindow

__all__ = ["DEFAULT_DEPARTMENTS", "GatewaySettings"]

DEFAULT_DEPARTMENTS = ("dfe", "dwp", "hmrc", "ho", "nhs", "rtw")
"""Home Office, Department for Education, HM Revenue & Customs, Department for Work and
Pensions, NHS, and the right-to-work/right-to-rent checking service used by employers,
landlords and banks."""

DEVELOPMENT = "development"
"""The default mode (``GATEWAY_ENV``): the public development secrets and keys run, with a
warning. Any other mode (``production``, ``staging``, ...) refuses to start on them."""

_DEV_SECRET = "dev-only-token-secret-change-me"
_DEV_SUBJECT_KEY_SECRET = "dev-only-subject-key-change-me"
_DEV_PSEUDONYM_SECRET = "dev-only-pseudonym-secret-change-me"
_DEV_CONSOLE_SECRET = "dev-only-console-secret-change-me"
_DEV_SECRETS = {
    "token_secret": _DEV_SECRET,
    "subject_key_secret": _DEV_SUBJECT_KEY_SECRET,
    "pseudonym_secret": _DEV_PSEUDONYM_SECRET,
    "console_secret": _DEV_CONSOLE_SECRET,
}
"""Every secret with a development default, by field."""


class GatewaySettings(BaseSettings):
    """Everything the gateway needs to run; defaults suit the embedded development broker."""

    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", extra="ignore", use_attribute_docstrings=True
    )

    env: str = Field(default=DEVELOPMENT, pattern=r"^[a-z][a-z0-9_-]*$")
    """``development`` (default) or any other mode, in which development secrets and keys
    stop start-up (:meth:`refuse_development_material`)."""
    bootstrap: str | None = None
    """Kafka bootstrap servers; None starts the embedded broker in-process."""
    topic_prefix: str = "dx"
    """Prefix of every topic name (``dx.requests.<d>``, ``dx.audit``, ...)."""
    departments: Annotated[tuple[str, ...], NoDecode] = DEFAULT_DEPARTMENTS
    """The departments whose topics the gateway serves, comma-separated."""
    partitions: int = Field(default=4, ge=1, le=256)
    """Partitions per topic the embedded broker creates (embedded broker only)."""
    policies_dir: Path = Path("policies")
    """The agreements (YAML), watched for changes."""
    schemas_dir: Path = Path("schemas")
    """The Avro schemas of every message and dataset."""
    group_id: str = "dx-gateway"
    """Consumer group shared by the gateway instances of one deployment."""
    instance_id: str = "gateway-1"
    """This instance's name in audit records, checkpoints and JSON log lines."""
    token_secret: SecretStr = SecretStr(_DEV_SECRET)
    """HMAC key for approval tokens; providers never see it, so they cannot forge a token."""
    subject_key_secret: SecretStr = SecretStr(_DEV_SUBJECT_KEY_SECRET)
    """HMAC key for pseudonymous subject keys in audit records."""
    token_ttl_seconds: int = Field(default=24 * 3600, ge=1)
    """How long an approval token stays valid, and how far back de-duplication recalls."""
    batch_max_records: int = Field(default=2000, ge=1)
    """Records per batch at most."""
    batch_timeout_ms: int = Field(default=50, ge=0)
    """How long a fetch waits for records before the batch in hand is processed."""
    dedupe_capacity: int = Field(default=1_000_000, ge=1)
    """Request and response keys the de-duplication memory holds (two per exchange)."""
    pseudonym_secret: SecretStr = SecretStr(_DEV_PSEUDONYM_SECRET)
    """Secret each agreement's pseudonym key is derived from (``pseudonym`` transforms)."""
    policy_reload_seconds: float = Field(default=1.0, ge=0)
    """How often the policy directory is checked for changes; 0 turns hot reload off."""
    audit_db: SecretStr = SecretStr("sqlite:///audit.db")
    """The audit store ``gateway audit index`` fills and ``gateway audit query`` and
    ``gateway report`` read: ``sqlite:///FILE`` or ``postgresql://...`` (which may hold a
    password, hence secret)."""
    shard: str | None = None
    """``I/N``: this instance owns input partitions ``p % N == I`` (static, no rebalancing)."""
    transactions: bool | None = None
    """Exactly-once: write each batch's audit records, outputs and offsets in one Kafka
    transaction. Default: on with Apache Kafka, off on the embedded broker (here or a
    ``gateway broker`` process, recognised by its cluster id), which cannot filter aborted
    records."""
    audit_chain: bool = True
    """Hash-chain and sign the audit log. ``GATEWAY_AUDIT_CHAIN=false`` turns both off, only to
    measure what they cost: such records cannot be verified."""
    audit_signing_key: SecretStr | None = None
    """Ed25519 key that signs audit checkpoints: a PEM file's path or the PEM text. None uses
    the development key in ``config/``, with a warning."""
    message_signing_key: SecretStr | None = None
    """Ed25519 key that signs every routed request and reply (a PEM file's path or the PEM
    text); departments verify with its public half. None uses the development key in
    ``config/``, with a warning."""
    audit_checkpoint_every: int = Field(default=1000, ge=1)
    """A signed checkpoint after this many records of an audit partition..."""
    audit_checkpoint_seconds: float = Field(default=60.0, gt=0)
    """...or when its oldest record not yet covered is this old, whichever comes first."""
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` on this port (0: any free port); None
    serves nothing. ``gateway run`` and ``gateway demo`` default to 9464."""
    metrics_host: str = "127.0.0.1"
    """The address the metrics port listens on (``0.0.0.0`` for a scraper elsewhere)."""
    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object per log line, with the instance id."""
    shutdown_timeout_seconds: float = Field(default=10.0, gt=0)
    """On SIGTERM or SIGINT: the time given to finish the batch in hand, sign the audit chains'
    heads and close the Kafka clients, whatever the broker does; what could not be written
    by then is logged."""
    console_secret: SecretStr = SecretStr(_DEV_CONSOLE_SECRET)
    """Key that signs the console's session cookies (``gateway console``)."""
    sent_at_max_ahead_seconds: float = Field(default=300.0, ge=0)
    """A request whose ``sent_at`` is more than this after the gateway received it is denied
    (``request.sent_at_ahead``): the sender's clock is wrong."""
    sent_at_max_behind_seconds: float = Field(default=86_400.0, ge=0)
    """A request whose ``sent_at`` is more than this before the gateway received it is denied
    (``request.sent_at_stale``). A backlog older than this, after an outage, is refused too."""

    @field_validator("shard")
    @classmethod
    def _valid_shard(cls, value: str | None) -> str | None:
        if value is not None:
            index, _, count = value.partition("/")
            if not (index.isdigit() and count.isdigit() and int(index) < int(count)):
                raise ValueError(f"shard must look like I/N with 0 <= I < N, not {value!r}")
        return value

    @property
    def shard_spec(self) -> tuple[int, int] | None:
        if self.shard is None:
            return None
        index, _, count = self.shard.partition("/")
        return int(index), int(count)

    @field_validator("departments", mode="before")
    @classmethod
    def _split_departments(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("departments")
    @classmethod
    def _valid_departments(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for dept in value:
            if not re.fullmatch(DEPARTMENT_PATTERN, dept):
                raise ValueError(
                    f"department id {dept!r} must be a lower-case identifier of at most 32 "
                    "characters (a letter, then letters, digits or '_')"
                )
        return value

    @property
    def sent_at_window(self) -> SentAtWindow:
        return SentAtWindow(
            ahead=timedelta(seconds=self.sent_at_max_ahead_seconds),
            behind=timedelta(seconds=self.sent_at_max_behind_seconds),
        )

    @property
    def uses_dev_pseudonym_secret(self) -> bool:
        return self.pseudonym_secret.get_secret_value() == _DEV_PSEUDONYM_SECRET

    @property
    def uses_dev_console_secret(self) -> bool:
        return self.console_secret.get_secret_value() == _DEV_CONSOLE_SECRET

    @property
    def is_development(self) -> bool:
        return self.env == DEVELOPMENT

    @property
    def development_secrets(self) -> list[str]:
        """The variables of every secret still at its (public) development default."""
        return [
            f"GATEWAY_{field.upper()}"
            for field, dev in _DEV_SECRETS.items()
            if getattr(self, field).get_secret_value() == dev
        ]

    @property
    def uses_dev_secrets(self) -> bool:
        """Whether any secret with a development default still has it."""
        return bool(self.development_secrets)

    def refuse_development_material(self, development_keys: Iterable[str] = ()) -> None:
        """Outside development mode, raise :class:`ConfigError` naming every development secret
        and every development key in ``development_keys`` (names of the settings that load
        them); in development mode, do nothing."""
        if self.is_development:
            return
        names = [*self.development_secrets, *development_keys]
        if names:
            raise ConfigError(
                f"GATEWAY_ENV={self.env}: refusing to start on the public development "
                f"secrets and keys; set {', '.join(names)}"
            )
