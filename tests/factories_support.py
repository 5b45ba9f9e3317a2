"""The types of the factory fixtures that tests/conftest.py and tests/integration/conftest.py
provide, for the tests that take them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from gateway.departments import DepartmentClient, Handler

__all__ = ["ClientFactory", "ConsumerFactory", "ProducerFactory", "ProviderFactory"]

ProducerFactory = Callable[..., Awaitable[AIOKafkaProducer]]
"""``producer_factory``: a started producer on the test broker, stopped after the test."""
ConsumerFactory = Callable[..., Awaitable[AIOKafkaConsumer]]
"""``consumer_factory``: a started consumer on the test broker, stopped after the test."""
ClientFactory = Callable[[str], Awaitable[DepartmentClient]]
"""``client``: a started department client of the named department."""
ProviderFactory = Callable[[str, Handler], Awaitable[list[Any]]]
"""``provider``: the named department's services answering with the handler."""
