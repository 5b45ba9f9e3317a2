"""``gateway console``: the operator and compliance web console; ``hash-password`` for its users."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from gateway.cli._common import load_settings
from gateway.cli._options import (
    audit_db_option,
    bootstrap_option,
    policies_option,
    prefix_option,
    verbose_option,
)
from gateway.logs import configure_logging

__all__ = ["console_group"]

log = logging.getLogger("gateway.console")


@click.group(
    "console", short_help="Serve the web console for operators.", invoke_without_command=True
)
@bootstrap_option()
@prefix_option()
@click.option(
    "--group",
    "groups",
    multiple=True,
    help="Gateway consumer group whose lag to show; repeat for several.",
    show_default="GATEWAY_GROUP_ID, dx-gateway",
)
@audit_db_option("Audit store the compliance pages read: sqlite:///FILE or postgresql://...")
@policies_option("Agreements for the register.", exists=False)
@click.option(
    "--users",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Users file, YAML or TOML.",
    show_default="the development users in config/",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8700,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on.",
)
@click.option("--https-only", is_flag=True, help="Secure session cookies (behind TLS).")
@verbose_option()
@click.pass_context
def console_group(
    ctx: click.Context,
    bootstrap: str | None,
    prefix: str | None,
    groups: tuple[str, ...],
    audit_db: str | None,
    policies: Path | None,
    users: Path | None,
    host: str,
    port: int,
    https_only: bool,
    verbose: bool,
) -> None:
    """Serve the console: live overview, register, decisions, subject access, audit integrity."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn  # kept local: `gateway console hash-password` needs none of this

    from gateway.audit.checkpoint import load_public_key
    from gateway.console.app import ConsoleConfig, create_app
    from gateway.console.users import DEV_USERS_PATH, load_users

    configure_logging(verbose)
    settings = load_settings(bootstrap=bootstrap, topic_prefix=prefix)
    users_file = users or DEV_USERS_PATH
    accounts = load_users(users_file)
    if users is None:
        log.warning("console users are the DEVELOPMENT users of %s (known passwords)", users_file)
    settings.refuse_development_material(["--users"] if users is None else [])
    if settings.uses_dev_console_secret:
        log.warning("console sessions are signed with the development secret; set "
                    "GATEWAY_CONSOLE_SECRET")  # fmt: skip
    config = ConsoleConfig(
        users=accounts,
        secret=settings.console_secret.get_secret_value(),
        bootstrap=settings.bootstrap,
        prefix=settings.topic_prefix,
        groups=groups or (settings.group_id,),
        departments=settings.departments,
        audit_db=audit_db or settings.audit_db.get_secret_value(),
        policies_dir=policies or settings.policies_dir,
        subject_key_secret=settings.subject_key_secret.get_secret_value(),
        public_key=load_public_key(),
        https_only=https_only,
    )
    click.echo(f"console on http://{host}:{port}/ ({len(accounts)} users from {users_file})")
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level="info" if verbose else "warning",
        timeout_graceful_shutdown=2,
    )


@console_group.command("hash-password", short_help="Hash a password for the users file.")
def hash_password_command() -> None:
    """Print a scrypt hash of a password (asked for twice, not echoed) for a users file."""
    from gateway.console.users import hash_password

    password = click.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
    click.echo(hash_password(password))
