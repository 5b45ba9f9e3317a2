"""Kafka headers on every message the gateway writes, so that generic Kafka tools can filter and
route without decoding Avro: the writer schema's full name, the request id, and on dead letters
the error code and the input's coordinates. Headers name ids, codes and topics, never values.
"""

from __future__ import annotations

__all__ = [
    "ORIGINAL_OFFSET",
    "ORIGINAL_PARTITION",
    "ORIGINAL_TOPIC",
    "REASON",
    "REPLAYED_BY",
    "REPLAY_OF",
    "REQUEST_ID",
    "schema_header",
]

SCHEMA = "dx-schema"
"""The writer schema's full name, e.g. ``dx.gateway.Reply``."""
REQUEST_ID = "dx-request-id"
"""The exchange's request id (the record key too, except on the capped topic)."""
REASON = "dx-reason"
"""On dead letters: the error code (``undecodable``, ``internal_error``, ...)."""
ORIGINAL_TOPIC = "dx-original-topic"
ORIGINAL_PARTITION = "dx-original-partition"
ORIGINAL_OFFSET = "dx-original-offset"
"""On dead letters: where the input was."""
REPLAY_OF = "dx-replay-of"
"""On an input replayed from the dead-letter topic: the dead letter's id."""
REPLAYED_BY = "dx-replayed-by"
"""On an input replayed from the dead-letter topic: who replayed it."""


def schema_header(model: type) -> tuple[str, bytes]:
    """``(dx-schema, b"dx.gateway.<Model>")`` for one of the envelope models."""
    return SCHEMA, f"dx.gateway.{model.__name__}".encode()
