"""The `gateway` command: one module per sub-command; errors map to exit codes here."""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Callable, Sequence

import click

from gateway.errors import ConfigError, GatewayError, PolicyError, TransportError
from gateway.logs import is_verbose

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
    from gateway.cli.audit_index import index_command
    from gateway.cli.audit_query import query_command

    audit_group.add_command(index_command)
    audit_group.add_command(query_command)
    return audit_group


_COMMANDS: dict[str, str | Callable[[], click.Command]] = {
    "audit": _audit_with_query,
    "bench": "gateway.cli.bench:bench_command",
    "chaos": "gateway.cli.chaos:chaos_command",
    "departments": "gateway.cli.departments:departments_command",
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
    "traffic": "gateway.cli.traffic:traffic_command",
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
@click.version_option(
    package_name="dx-gateway", prog_name="gateway", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Exchange gateway: purpose-limited, minimised and audited data sharing over Kafka."""


def main(
    argv: Sequence[str] | None = None,
    *,
    command: click.Command | None = None,
    prog_name: str = "gateway",
) -> None:
    """Console entry point: run the CLI (or one of its ``command``s, as ``python -m
    consumers.departments`` does); domain errors become one line and an exit code, with a
    traceback only if verbose."""
    try:
        (command or cli).main(args=argv, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except GatewayError as exc:
        if is_verbose():
            traceback.print_exc()
        click.echo(f"error [{exc.code}]: {exc}", err=True)
        sys.exit(exit_code_for(exc))
