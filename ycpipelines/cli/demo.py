"""`ycp demo`: the demo source systems and the end-to-end demo (演示, development only)."""

import json
import time
from datetime import date
from pathlib import Path

import click

from ycpipelines.cli.context import Cli, pass_cli, refused, registry_refusals
from ycpipelines.cli.params import Day, Output
from ycpipelines.cli.progress import RunsProgress
from ycpipelines.foundation.environment import EnvironmentRefused, refuse_in_prod

rows_option = click.option("--rows", default=20_000, show_default=True, help="outpatient visits")
seed_option = click.option("--seed", default=7, show_default=True, help="random seed")
days_option = click.option("--days", default=7, show_default=True, help="days of deliveries")


@click.group("demo")
def command() -> None:
    """Demo source systems and the end-to-end demo (development only)."""
    with refused(EnvironmentRefused):
        refuse_in_prod("ycp demo")


@command.command("sources")
@rows_option
@seed_option
@days_option
@click.option(
    "--end", type=Day(), default="2025-06-30", show_default=True, help="last day delivered"
)
@click.option(
    "--out",
    type=Output(folder=True),
    default=None,
    help="folder of the source systems [default: $YC_HOME/sources]",
)
@click.option("--into", default=None, help="also copy the bureau databases to this server URL")
@pass_cli
def demo_sources(
    cli: Cli, rows: int, seed: int, days: int, end: date, out: Path | None, into: str | None
) -> None:
    """Generate the bureaus' source systems (SQLite databases and a GBK CSV inbox)."""
    from ycpipelines.demo.sources import write_sources

    out = out or Path(cli.settings.sources_root)
    manifest = write_sources(rows, seed, out, days, end)
    if into:
        from ycpipelines.demo.servers import load_into

        manifest["copied_to_server"] = load_into(into, out, cli.catalog())
    click.echo(json.dumps(manifest, ensure_ascii=False, indent=2))


@command.command("run")
@rows_option
@seed_option
@days_option
@click.option("--workers", default=2, show_default=True, help="partitions run side by side")
@pass_cli
def demo_run(cli: Cli, rows: int, seed: int, days: int, workers: int) -> None:
    """Generate sources, run the whole lineage, approve as the demo reviewer, publish; the runs'
    progress shows on stderr."""
    from ycpipelines.cli import ensure_demo_key

    cli.settings = ensure_demo_key(cli.settings)
    import dagster as dg

    from ycpipelines.definitions import build_definitions
    from ycpipelines.demo.run import Tally, run_demo
    from ycpipelines.demo.sources import write_sources
    from ycpipelines.registry import Registry

    Registry.upgrade(cli.settings.registry)
    started = time.perf_counter()
    sources = cli.settings.sources_root
    manifest = write_sources(rows, seed, Path(sources), days)
    click.echo(f"demo sources: {rows} visits over {days} days in {sources}")
    catalog = cli.catalog()
    with RunsProgress("demo") as progress:

        def report(tally: Tally) -> None:
            progress.update(tally.done, tally.total, tally.failed, tally.rows)

        result = run_demo(
            build_definitions(catalog, cli.settings),
            catalog,
            dg.DagsterInstance.get(),
            cli.registry(),
            date.fromisoformat(manifest["first"]),
            date.fromisoformat(manifest["end"]),
            workers,
            os_account=cli.login(),
            report=report,
        )
    click.echo(f"{result.runs} runs in {time.perf_counter() - started:.1f}s")
    if result.failed:
        raise click.ClickException(f"failed runs: {result.failed}")
    click.echo(
        f"approval requests {result.request_ids} approved by the demo reviewer "
        "(演示审核员, not a real person)"
    )
    for path in result.published:
        click.echo(f"published: {path}")
    where_to_look(cli)


def where_to_look(cli: Cli) -> None:
    """The Dagster UI and the console, and the demo's console accounts (fresh each run)."""
    from ycpipelines.cli.output import show
    from ycpipelines.demo.accounts import console_accounts, write_accounts

    made = console_accounts(cli.registry(), cli.catalog())
    saved = write_accounts(cli.settings.home, made)
    click.echo(
        "browse the lineage and these runs: make dev (or make dev PORT=3001), "
        "then open http://127.0.0.1:3000 (or your PORT)"
    )
    settings = cli.settings
    click.echo(
        f"the console (运营平台控制台): make console, then open "
        f"http://{settings.console_host}:{settings.console_port} and sign in as a demo account "
        "(演示账户, not real people; refused with YC_ENV=prod); the code for a TOTP account: "
        "ycp demo code NAME"
    )
    rows = [
        {"account": a.name, "role": a.role, "password": a.password, "totp": bool(a.totp_secret)}
        for a in made
    ]
    show(rows, False, title=f"demo accounts (also in {saved}, 0600)")


@command.command("code")
@click.argument("name")
@pass_cli
def demo_code(cli: Cli, name: str) -> None:
    """The current TOTP code of a demo account (演示账户), instead of an authenticator app."""
    with registry_refusals():
        click.echo(cli.registry().demo_code(name))
