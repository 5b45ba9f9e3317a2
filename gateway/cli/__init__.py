"""The `gateway` command: one module per sub-command; errors map to exit codes here."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

import click

from gateway.errors import ConfigError, GatewayError, PolicyError, TransportError

__all__ = ["EXIT_CODES", "main"]

EXIT_CODES: dict[type[GatewayError], int] = {
    ConfigError: 2,
    PolicyError: 3,
    TransportError: 4,
    GatewayError: 1,
}
"""Domain errors to exit statuses, most specific first. Click's own usage errors exit 2."""


def exit_code_for(error: GatewayError) -> int:
    for kind, code in EXIT_CODES.items():
        if isinstance(error, kind):
            return code
    return 1


def _audit_with_query() -> click.Command:
    from gateway.cli.audit import audit_group
    from gateway.cli.audit_query import query_command

    audit_group.add_command(query_command)
    return audit_group


_COMMANDS: dict[str, str | Callable[[], click.Command]] = {
    "audit": _audit_with_query,
    "bench": "gateway.cli.bench:bench_command",
    "console": "gateway.cli.console:console_group",
    "deadletter": "gateway.cli.deadletter:deadletter_group",
    "broker": "gateway.cli.broker:broker_command",
    "demo": "gateway.cli.demo:demo_command",
    "kafka": "gateway.cli.kafka:kafka_command",
    "policy": "gateway.cli.policy:policy_group",
    "register": "gateway.cli.register:register_command",
    "report": "gateway.cli.report:report_group",
    "run": "gateway.cli.run:run_command",
    "status": "gateway.cli.status:status_command",
}
"""Sub-commands, imported only when used: ``gateway broker`` need not load faust or rich."""


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        if callable(target):
            return target()
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Exchange gateway: purpose-limited, minimised and audited data sharing over Kafka."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI; domain errors become clear messages and exit codes."""
    try:
        cli.main(args=argv, prog_name="gateway", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except GatewayError as exc:
        click.echo(f"error [{exc.code}]: {exc}", err=True)
        sys.exit(exit_code_for(exc))
