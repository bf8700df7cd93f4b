"""`ycp dev`: the Dagster UI and daemon on this checkout's own instance (开发)."""

import os
import sys

import click

from ycpipelines.cli.context import Cli, pass_cli, registry_refusals
from ycpipelines.foundation.settings import PROJECT_ROOT


def dev_command(host: str, port: int) -> list[str]:
    """`dagster dev` on the workspace, listening where asked."""
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    return [sys.executable, "-m", "dagster", "dev", "-w", workspace, "-h", host, "-p", str(port)]


@click.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=3000, show_default=True, help="port of the Dagster UI")
@pass_cli
def command(cli: Cli, host: str, port: int) -> None:
    """开发: the Dagster UI and daemon on the instance `ycp demo run` wrote ($YC_HOME/dagster).

    `dagster dev` started by hand, without DAGSTER_HOME, opens a temporary instance and shows
    no runs; this command points it at the platform's own, with the platform's umask."""
    env = cli.settings.child_environment(
        DAGSTER_HOME=str(cli.settings.dagster_home), YC_HOME=str(cli.settings.home)
    )
    with registry_refusals():
        cli.upgrade_embedded()  # before the code server and the daemon load the code together
    click.echo(f"Dagster UI on http://{host}:{port} (instance {cli.settings.dagster_home})")
    os.chdir(PROJECT_ROOT)
    os.execve(sys.executable, dev_command(host, port), env)
