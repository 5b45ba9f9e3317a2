"""The package table in docs/architecture.md lists every package and top-level module under
gateway/ and consumers/, and nothing that does not exist; the README points to it instead of
keeping a second list."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
TABLE_MARK = "<!-- package table -->"


def _listed() -> list[str]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    assert TABLE_MARK in text
    rows = text.split(TABLE_MARK, 1)[1].strip().split("\n\n", 1)[0].splitlines()
    names = [re.fullmatch(r"\| `([a-z_.]+)` \|.*", row) for row in rows[2:]]
    assert all(names), [row for row, name in zip(rows[2:], names, strict=True) if not name]
    return [name.group(1) for name in names if name]


def _on_disk() -> set[str]:
    found: set[str] = set()
    for package in ("gateway", "consumers"):
        for entry in (ROOT / package).iterdir():
            if entry.name.startswith(("_", ".")):
                continue
            if entry.is_dir() and (entry / "__init__.py").exists():
                found.add(f"{package}.{entry.name}")
            elif entry.suffix == ".py":
                found.add(f"{package}.{entry.stem}")
    return found


def test_the_package_table_lists_every_package_once_and_nothing_else() -> None:
    listed = _listed()

    assert sorted(set(listed)) == sorted(listed), "listed twice"
    assert sorted(_on_disk() - set(listed)) == [], "missing from docs/architecture.md"
    assert sorted(set(listed) - _on_disk()) == [], "listed but not in the source tree"


def test_the_readme_links_the_table_and_keeps_no_list_of_its_own() -> None:
    readme = (ROOT / "README.md").read_text()

    assert "docs/architecture.md#packages" in readme
    assert "| package |" not in readme
