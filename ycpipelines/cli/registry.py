"""`ycp registry …`: the registry database's schema revision and its migrations (运营登记库)."""

import click
from sqlalchemy.engine import make_url

from ycpipelines.cli.context import Cli, pass_cli, registry_refusals


def location(url: str) -> str:
    """The registry's URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


@click.group("registry")
def command() -> None:
    """The registry database's schema (运营登记库): its revision and its migrations."""


@command.command("upgrade")
@pass_cli
def registry_upgrade(cli: Cli) -> None:
    """Migrate the registry (YC_REGISTRY_URL) to the code's newest schema revision. Idempotent;
    processes upgrading together on PostgreSQL migrate one after the other."""
    from ycpipelines.registry import Registry
    from ycpipelines.registry.schema import revisions

    url = cli.settings.registry
    with registry_refusals():
        before, _ = revisions(url)
        after = Registry.upgrade(url)
    if before == after:
        click.echo(f"registry schema is at {after}, the newest ({location(url)})")
    else:
        click.echo(f"registry schema upgraded from {before or 'empty'} to {after}")


@command.command("status")
@pass_cli
def registry_status(cli: Cli) -> None:
    """Print the registry's schema revision and the code's newest; fail when they differ."""
    from ycpipelines.registry.schema import revisions

    with registry_refusals():
        current, head = revisions(cli.settings.registry)
    click.echo(f"registry: {location(cli.settings.registry)}")
    click.echo(f"current: {current or 'empty'}\nhead: {head}")
    if current != head:
        raise click.ClickException("the registry is behind the code: run `ycp registry upgrade`")
