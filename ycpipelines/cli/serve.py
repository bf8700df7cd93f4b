"""`ycp serve`: the platform's services on the PostgreSQL instance (运维)."""

import time

import click

from ycpipelines.cli.context import Cli, pass_cli, refused
from ycpipelines.foundation.environment import EnvironmentRefused


@click.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="address the console listens on"
)
@click.option(
    "--port", default=3000, show_default=True, help="port of the webserver (on loopback only)"
)
@click.option(
    "--read-only",
    is_flag=True,
    help="an auditors' webserver beside a served instance: no launches, no edits, no daemon",
)
@pass_cli
def command(cli: Cli, host: str, port: int, read_only: bool) -> None:
    """运维: code server, dagster-webserver and dagster-daemon on the PostgreSQL instance."""
    from ycpipelines.ops.environments import require_production
    from ycpipelines.ops.serve import serve

    with refused(EnvironmentRefused):
        require_production(cli.catalog())
    logs = cli.settings.home / "serve" / ("logs-read-only" if read_only else "logs")
    with serve(logs, host, port, read_only) as services:
        click.echo(f"serving {services.url} on loopback (logs in {logs}); Ctrl-C stops")
        if services.console_url:
            click.echo(f"console (运营平台控制台): {services.console_url}")
            click.echo(f"operators open the Dagster UI at {services.console_url}/dagster/")
        else:
            click.echo(
                f"auditors open it at the console's /dagster-audit/; start the console with "
                f"YC_DAGSTER_AUDIT_URL={services.url}"
            )
        try:
            while all(p.poll() is None for p in services.processes.values()):
                time.sleep(5)
        except KeyboardInterrupt:
            return
    raise click.ClickException(f"a served process exited; see {logs}")
