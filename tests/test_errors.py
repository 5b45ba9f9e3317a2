"""One error hierarchy: every exception class the gateway defines, in any module, derives from
:class:`gateway.errors.GatewayError` and names a stable code of its own that no other class uses."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import gateway
from gateway.errors import EnvelopeError, ExchangeError, GatewayError, IdentityError


def _exception_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for info in pkgutil.walk_packages(gateway.__path__, "gateway."):
        if info.name.endswith(".__main__"):  # runs the command line when imported
            continue
        module = importlib.import_module(info.name)
        found.extend(
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, BaseException)
            and value.__module__ == module.__name__
        )
    return found


def test_every_exception_class_derives_from_the_gateway_error() -> None:
    outside = [
        f"{kind.__module__}.{kind.__qualname__}"
        for kind in _exception_classes()
        if not issubclass(kind, GatewayError)
    ]

    assert outside == []


def test_every_gateway_error_has_a_code_of_its_own() -> None:
    by_code: dict[str, list[str]] = {}
    for kind in _exception_classes():
        code = str(getattr(kind, "code", None))
        by_code.setdefault(code, []).append(f"{kind.__module__}.{kind.__qualname__}")

    assert {code: names for code, names in by_code.items() if len(names) > 1} == {}


def test_a_sender_that_is_not_who_it_claims_is_an_exchange_refusal_not_an_envelope_fault() -> None:
    assert issubclass(IdentityError, ExchangeError)
    assert not issubclass(IdentityError, EnvelopeError)
