"""Each public package curates its API in ``__all__``: the names exist, are listed once and in
order, and every name another package imports from the package itself is among them."""

from __future__ import annotations

import ast
import functools
import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[1]
GATEWAY = ROOT / "gateway"
PACKAGES = sorted(
    ".".join(init.parent.relative_to(ROOT).parts)
    for init in GATEWAY.rglob("__init__.py")
    if init.parent != GATEWAY and not any(p.startswith("_") for p in init.parent.parts)
)


def _all(package: str) -> list[str]:
    names = getattr(importlib.import_module(package), "__all__", None)
    assert isinstance(names, list), f"{package} has no __all__ list"
    return names


def _order(name: str) -> tuple[int, str]:
    """The order ruff keeps ``__all__`` in: CONSTANTS, then Classes, then functions."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


@functools.cache
def _absolute_imports() -> tuple[tuple[Path, str, str], ...]:
    """``(importer, module, name)`` for each ``from module import name`` of the code."""
    return tuple(
        (path, node.module, alias.name)
        for path in [*GATEWAY.rglob("*.py"), *(ROOT / "consumers").rglob("*.py")]
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        for alias in node.names
    )


def _imports_from(package: str) -> Iterator[tuple[str, str]]:
    """``(importer, name)`` for each ``from <package> import name`` outside the package."""
    inside = ROOT.joinpath(*package.split("."))
    for path, module, name in _absolute_imports():
        if module == package and not path.is_relative_to(inside):
            yield str(path.relative_to(ROOT)), name


def test_every_package_under_gateway_is_checked() -> None:
    assert {"gateway.exchange", "gateway.policy", "gateway.transport"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_the_exported_names_exist_once_each_and_in_order(package: str) -> None:
    module = importlib.import_module(package)
    names = _all(package)

    assert [name for name in names if not hasattr(module, name)] == []
    assert len(names) == len(set(names))
    assert names == sorted(names, key=_order)


@pytest.mark.parametrize("package", PACKAGES)
def test_other_packages_import_from_it_only_what_it_exports(package: str) -> None:
    module: ModuleType = importlib.import_module(package)
    exported = set(_all(package))
    unlisted = [
        f"{importer}: {name}"
        for importer, name in _imports_from(package)
        if name not in exported and not isinstance(getattr(module, name, None), ModuleType)
    ]

    assert unlisted == []
