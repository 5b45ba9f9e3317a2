"""Topic names for the Kafka side: the envelope decides them (:mod:`gateway.envelope.topics`,
which the core routes by); transport, the tools and the departments re-use them from here."""

from __future__ import annotations

from gateway.envelope.topics import TopicNames

__all__ = ["READ_COMMITTED", "READ_UNCOMMITTED", "TopicNames"]

READ_COMMITTED = "read_committed"
"""Isolation level of every consumer of the gateway's topics: on Apache Kafka the gateway writes
in transactions, and records of an aborted one must never be read."""
READ_UNCOMMITTED = "read_uncommitted"
"""Only for a consumer that reads no record, just end offsets (a partition's high watermark)."""
