"""Department-client tests run on Apache Kafka unless told otherwise."""

from __future__ import annotations

import pytest

from gateway.testing import BrokerUnderTest


@pytest.fixture(scope="session")
def broker(integration_broker: BrokerUnderTest) -> BrokerUnderTest:
    """These tests run on Apache Kafka (see ``integration_broker`` in tests/conftest.py)."""
    return integration_broker


@pytest.fixture(scope="session")
def bootstrap(integration_broker: BrokerUnderTest) -> str:
    return integration_broker.bootstrap
