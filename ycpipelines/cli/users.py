"""`ycp users`: registry accounts and their roles (账户与角色)."""

import click

from ycpipelines.cli.context import Cli, pass_cli, registry_refusals
from ycpipelines.cli.output import json_option, show


@click.group("users")
def command() -> None:
    """Registry users and their roles (e.g. reviewer 审核员)."""


@command.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="e.g. reviewer, bureau:health")
@click.option("--os-account", default=None, help="the login this account acts as in `ycp`")
@pass_cli
def users_add(cli: Cli, name: str, roles: tuple[str, ...], os_account: str | None) -> None:
    """Grant roles to an account (an admin only)."""
    registry = cli.registry()
    actor = cli.acting_user()
    with registry_refusals():
        user = registry.add_user(name, list(roles), actor, os_account=os_account)
    click.echo(f"{user.name}: {', '.join(user.roles)}")


@command.command("bootstrap-admin")
@click.argument("name")
@pass_cli
def users_bootstrap(cli: Cli, name: str) -> None:
    """The first admin (数据主管部门), acting as this login; refused once an admin exists."""
    with registry_refusals():
        user = cli.registry().bootstrap_admin(name, cli.login())
    click.echo(f"{user.name}: admin, acting as the login {user.os_account}")


@command.command("list")
@json_option
@pass_cli
def users_list(cli: Cli, as_json: bool) -> None:
    """Accounts, their roles, the login each acts as, and whether the audit chain vouches for
    the roles."""
    registry = cli.registry()
    rows = [
        {
            "name": u.name,
            "roles": list(u.roles),
            "os_account": u.os_account,
            "demo": u.demo,
            "roles_verified": bool(registry.verified_roles(u.name)),
            "added_at": u.added_at,
        }
        for u in registry.users()
    ]
    show(rows, as_json, title="registry accounts")


@command.command("password")
@click.argument("name")
@pass_cli
def users_password(cli: Cli, name: str) -> None:
    """Set the console password (登录口令) of NAME: an admin sets an initial one, to be changed
    at the first sign-in, or an account sets its own. Asked twice, never echoed."""
    registry = cli.registry()
    actor = cli.acting_user()
    password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with registry_refusals():
        registry.set_password(name, password, actor)
    if actor == name:
        click.echo(f"{name}: password set")
    else:
        click.echo(f"{name}: password set; it must be changed at the first sign-in")
