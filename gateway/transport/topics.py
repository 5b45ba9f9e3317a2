"""Topic names for the Kafka side: the envelope decides them (:mod:`gateway.envelope.topics`,
which the core routes by); transport, the tools and the departments re-use them from here."""

from __future__ import annotations

from gateway.envelope.topics import TopicNames

__all__ = ["TopicNames"]
