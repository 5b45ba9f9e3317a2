"""One vocabulary across the `gateway` command: every option of every sub-command, walked."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.cli._options import HIDDEN_ALIASES, AliasedOption

CONCEPTS: dict[str, tuple[str, ...]] = {
    "output file": ("--output", "--out", "--output-file"),
    "audit records file": ("--audit-file", "--file", "--from", "--audit", "--export"),
    "audit store": ("--audit-db", "--db", "--store"),
    "topic prefix": ("--prefix", "--topic-prefix"),
    "agreements directory": ("--policies", "--policies-dir", "--policy-dir"),
    "bootstrap servers": ("--bootstrap", "--bootstrap-servers", "--brokers"),
    "how long traffic runs": ("--seconds", "--duration"),
}
"""Each concept's one spelling first, then spellings it must not also be offered under."""

_DEFAULT_SHOWN = re.compile(r"\[default: [^\]]*\]")


def _commands(
    group: click.Group = cli, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def _options(command: click.Command) -> Iterator[click.Option]:
    for param in command.params:
        if isinstance(param, click.Option) and param.name not in ("help", "version"):
            yield param


def _shown(option: click.Option) -> list[str]:
    if isinstance(option, AliasedOption):
        return option.visible_opts
    return [*option.opts, *option.secondary_opts]


COMMANDS = sorted(_commands())


def test_the_walk_reaches_every_command_including_the_nested_ones() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}

    for expected in (
        "run",
        "demo",
        "audit verify",
        "audit query",
        "policy simulate",
        "report subject",
    ):
        assert expected in names
    for expected in ("departments", "traffic", "audit index", "deadletter replay"):
        assert expected in names


def test_no_command_offers_a_second_spelling_of_a_concept() -> None:
    offenders = [
        f"gateway {' '.join(path)}: {spelling} ({concept}: use {spellings[0]})"
        for path, command in COMMANDS
        for option in _options(command)
        for spelling in _shown(option)
        for concept, spellings in CONCEPTS.items()
        if spelling in spellings[1:]
    ]

    assert offenders == []


def test_a_parameter_is_spelled_the_same_way_in_every_command() -> None:
    spellings: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for _, command in COMMANDS:
        for option in _options(command):
            assert option.name is not None
            spellings[option.name].add(tuple(sorted(_shown(option))))

    assert {name: s for name, s in spellings.items() if len(s) > 1} == {}


def test_every_option_has_help_and_shows_defaults_one_way() -> None:
    problems = []
    for path, command in COMMANDS:
        ctx = click.Context(command, info_name=path[-1])
        for option in _options(command):
            record = option.get_help_record(ctx)
            text = record[1] if record else ""
            if not option.help:
                problems.append(f"{' '.join(path)} {option.opts[0]}: no help")
            elif "default" in _DEFAULT_SHOWN.sub("", text).lower():
                problems.append(f"{' '.join(path)} {option.opts[0]}: default in its own words")

    assert problems == []


def test_earlier_spellings_still_work_but_are_not_listed() -> None:
    seen = set()
    for path, command in COMMANDS:
        ctx = click.Context(command, info_name=path[-1])
        for option in _options(command):
            if not isinstance(option, AliasedOption):
                continue
            record = option.get_help_record(ctx)
            assert record is not None
            for alias in option.hidden_aliases:
                assert alias in option.opts  # the parser still takes it
                assert alias not in re.split(r"[ ,/]+", record[0])
                seen.add(alias)

    assert seen >= set(HIDDEN_ALIASES) - {"--seed"}


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=" ".join)
def test_every_help_page_renders_at_80_columns_without_stray_escapes(
    path: tuple[str, ...],
) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80)

    assert result.exit_code == 0, result.output
    assert "%%" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_gateway_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])

    assert result.exit_code == 0
    assert re.fullmatch(r"gateway \d+\.\d+\.\d+\S*\n", result.output)


GROUPS = [((), cli), *((p, c) for p, c in COMMANDS if isinstance(c, click.Group))]


@pytest.mark.parametrize(
    "path", [path for path, _ in GROUPS], ids=lambda p: " ".join(p) or "gateway"
)
def test_a_group_lists_each_command_with_a_whole_short_help_at_80_columns(
    path: tuple[str, ...],
) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80)

    listing = result.output.split("Commands:\n", 1)[1].splitlines()
    assert listing
    assert [line for line in listing if line.endswith("...")] == []
