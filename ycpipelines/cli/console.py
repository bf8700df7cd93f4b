"""`ycp console`: the operation platform's web console (运营平台控制台)."""

import click

from ycpipelines.cli.context import Cli, pass_cli


@click.command("console")
@click.option(
    "--host", default=None, help="address to listen on [default: YC_CONSOLE_HOST, loopback]"
)
@click.option("--port", type=int, default=None, help="port [default: YC_CONSOLE_PORT, 8080]")
@pass_cli
def command(cli: Cli, host: str | None, port: int | None) -> None:
    """运营平台控制台: sign-in, the review desk (审核台), consumers' deliveries, administration."""
    from ycpipelines.console.server import serve

    settings = cli.settings
    host, port = host or settings.console_host, port or settings.console_port
    if host not in ("127.0.0.1", "::1", "localhost") and not settings.console_secure_cookies:
        click.echo(
            f"warning: listening on {host} without YC_CONSOLE_SECURE_COOKIES: put TLS in front",
            err=True,
        )
    click.echo(f"console: http://{host}:{port} (Ctrl-C stops)")
    serve(settings, cli.registry(), cli.catalog(), host, port)
