"""The `gateway` command: one module per sub-command; errors map to exit codes here."""

from __future__ import annotations

import sys

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Exchange gateway: purpose-limited, minimised and audited data sharing over Kafka."""


def _register() -> None:
    from gateway.cli import bench, broker, demo, run

    cli.add_command(broker.broker_command)
    cli.add_command(run.run_command)
    cli.add_command(demo.demo_command)
    cli.add_command(bench.bench_command)

    from gateway.cli import policy, register

    cli.add_command(policy.policy_group)
    cli.add_command(register.register_command)

    from gateway.cli import audit

    cli.add_command(audit.audit_group)

    from gateway.cli import audit_query, report

    audit.audit_group.add_command(audit_query.query_command)
    cli.add_command(report.report_group)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI; domain errors become clear messages and exit codes."""
    _register()
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
