"""The CLI's vocabulary: one option, one spelling, one help text per concept, for every command.

Commands take their common options from here, so ``--prefix`` or ``--audit-db`` mean the same
and read the same everywhere. Spellings of earlier releases still work as hidden aliases
(:class:`AliasedOption`): accepted, never listed in ``--help``. Defaults are shown the one way
click shows them, ``[default: ...]``; where a default comes from the settings, ``show_default``
names the variable. ``tests/cli/test_vocabulary.py`` walks every command and fails on an option
without help, on a second spelling of a concept, or on a default written another way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from gateway.settings import DEFAULT_DEPARTMENTS

__all__ = [
    "AliasedOption",
    "audit_db_option",
    "audit_file_option",
    "bootstrap_option",
    "departments_option",
    "format_option",
    "log_format_option",
    "metrics_port_option",
    "no_metrics_option",
    "output_option",
    "partitions_option",
    "policies_option",
    "prefix_option",
    "verbose_option",
]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_METRICS_PORT = 9464
"""Where ``gateway run`` and ``gateway demo`` serve metrics unless told otherwise."""

HIDDEN_ALIASES: dict[str, str] = {
    "--out": "--output",
    "--file": "--audit-file",
    "--from": "--audit-file",
    "--audit": "--audit-file",
    "--db": "--audit-db",
    "--topic-prefix": "--prefix",
    "--checkpoint-out": "--checkpoint-output",
    "--duration": "--seconds",
    "--seed": "--dataset-seed",
}
"""Earlier spellings and the one that replaced each (accepted for one more release)."""


class AliasedOption(click.Option):
    """An option that also answers to earlier spellings, which ``--help`` does not list."""

    def __init__(
        self, param_decls: Sequence[str], *, hidden_aliases: Sequence[str] = (), **attrs: Any
    ) -> None:
        self.hidden_aliases = tuple(hidden_aliases)
        super().__init__([*param_decls, *self.hidden_aliases], **attrs)

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        shown = [o for o in self.opts if o not in self.hidden_aliases]
        all_opts, self.opts = self.opts, shown
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = all_opts

    @property
    def visible_opts(self) -> list[str]:
        """The spellings ``--help`` shows."""
        return [o for o in [*self.opts, *self.secondary_opts] if o not in self.hidden_aliases]


def _option(*decls: str, aliases: Sequence[str] = (), **attrs: Any) -> Callable[[F], F]:
    return click.option(*decls, cls=AliasedOption, hidden_aliases=aliases, **attrs)


def bootstrap_option(
    help: str = "Kafka bootstrap servers.",
    *,
    required: bool = False,
    from_settings: bool = True,
) -> Callable[[F], F]:
    """``--bootstrap HOST:PORT``; by default it falls back to ``GATEWAY_BOOTSTRAP``."""
    return _option(
        "--bootstrap",
        metavar="HOST:PORT",
        required=required,
        help=help,
        show_default="GATEWAY_BOOTSTRAP" if from_settings and not required else False,
    )


def prefix_option(dest: str = "prefix") -> Callable[[F], F]:
    """``--prefix``: the topic name prefix; unset, ``GATEWAY_TOPIC_PREFIX`` (``dx``)."""
    return _option(
        "--prefix",
        dest,
        aliases=("--topic-prefix",),
        metavar="PREFIX",
        help="Topic name prefix.",
        show_default="GATEWAY_TOPIC_PREFIX, dx",
    )


def output_option(
    help: str = "Write to this file instead of stdout.", *, required: bool = False
) -> Callable[[F], F]:
    """``-o/--output FILE``."""
    return _option(
        "-o",
        "--output",
        "output",
        aliases=("--out",),
        type=click.Path(dir_okay=False, path_type=Path),
        required=required,
        help=help,
    )


def audit_file_option(
    help: str, *, dest: str = "audit_file", required: bool = False
) -> Callable[[F], F]:
    """``--audit-file FILE``: an audit export (``gateway audit export``) or JSON audit records."""
    return _option(
        "--audit-file",
        dest,
        aliases=("--file", "--from", "--audit"),
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        required=required,
        help=help,
    )


def audit_db_option(
    help: str = "Audit store: sqlite:///FILE or postgresql://...",
) -> Callable[[F], F]:
    """``--audit-db URL``; unset, ``GATEWAY_AUDIT_DB``."""
    return _option(
        "--audit-db",
        "audit_db",
        aliases=("--db",),
        metavar="URL",
        help=help,
        show_default="GATEWAY_AUDIT_DB, sqlite:///audit.db",
    )


def policies_option(
    help: str = "Directory of agreement files.", *, dest: str = "policies", exists: bool = True
) -> Callable[[F], F]:
    """``--policies DIR``; unset, ``GATEWAY_POLICIES_DIR``."""
    return _option(
        "--policies",
        dest,
        type=click.Path(file_okay=False, exists=exists, path_type=Path),
        help=help,
        show_default="GATEWAY_POLICIES_DIR, policies/",
    )


def departments_option() -> Callable[[F], F]:
    """``--departments a,b``; unset, ``GATEWAY_DEPARTMENTS``."""
    return _option(
        "--departments",
        metavar="LIST",
        help="Comma-separated department ids.",
        show_default=f"GATEWAY_DEPARTMENTS, {','.join(DEFAULT_DEPARTMENTS)}",
    )


def format_option(
    choices: Sequence[str] = ("table", "json"), help: str = "Output format."
) -> Callable[[F], F]:
    """``--format``: how a command prints what it found; the first choice by default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )


def partitions_option(help: str = "Partitions per gateway topic.") -> Callable[[F], F]:
    return _option(
        "--partitions", type=click.IntRange(1, 256), help=help, show_default="GATEWAY_PARTITIONS, 4"
    )


def verbose_option() -> Callable[[F], F]:
    """``-v/--verbose``: debug logging, the libraries' own messages, tracebacks with errors."""
    return _option(
        "-v",
        "--verbose",
        is_flag=True,
        help="Debug logging, the Kafka libraries' own messages, and a traceback with an error.",
    )


def metrics_port_option() -> Callable[[F], F]:
    """``--metrics-port P``: where a gateway serves ``/metrics``, ``/healthz`` and ``/readyz``."""
    return click.option(
        "--metrics-port",
        type=click.IntRange(0, 65535),
        default=DEFAULT_METRICS_PORT,
        show_default=True,
        help="Serve the gateway's /metrics, /healthz and /readyz on this port; 0 picks a free one.",
    )


def no_metrics_option() -> Callable[[F], F]:
    return click.option("--no-metrics", is_flag=True, help="Serve no metrics or health endpoints.")


def log_format_option() -> Callable[[F], F]:
    """``--log-format text|json``; unset, ``GATEWAY_LOG_FORMAT``."""
    return click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        help="Log lines as text, or one JSON object per line.",
        show_default="GATEWAY_LOG_FORMAT, text",
    )
