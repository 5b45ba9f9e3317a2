"""The README's configuration table is the settings object's: it lists every setting, with its
default and its description, and fails here when one is added or changed without it."""

from __future__ import annotations

from pathlib import Path

from gateway.settings import GatewaySettings
from gateway.settings_docs import BEGIN, END, replace_block, settings_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_lists_every_setting_as_the_settings_object_describes_it() -> None:
    text = README.read_text(encoding="utf-8")
    assert replace_block(text) == text, (
        "README.md's settings table is out of date: run python -m gateway.settings_docs README.md"
    )


def test_every_setting_has_a_row_and_a_description() -> None:
    table = settings_table()
    for name, info in GatewaySettings.model_fields.items():
        assert f"`GATEWAY_{name.upper()}`" in table
        assert info.description, f"{name} has no docstring"
    assert BEGIN in README.read_text() and END in README.read_text()
    for named in ("GATEWAY_PSEUDONYM_SECRET", "GATEWAY_SHARD", "GATEWAY_POLICY_RELOAD_SECONDS"):
        assert named in table
