"""`ycp psi`: private set intersection with an insurer (隐私求交)."""

import csv
from pathlib import Path

import click

from ycpipelines.cli.context import Cli, pass_cli, refused
from ycpipelines.cli.params import Output


@click.group("psi")
def command() -> None:
    """隐私求交: private set intersection of an insurer's applicants with the platform's data."""


@command.command("serve")
@click.option(
    "--socket", "path", required=True, type=click.Path(path_type=Path), help="Unix socket"
)
@click.option("--sessions", type=int, default=None, help="stop after this many sessions")
@pass_cli
def psi_serve(cli: Cli, path: Path, sessions: int | None) -> None:
    """The platform side, on a Unix socket."""
    from ycpipelines.foundation.lake import Lake
    from ycpipelines.sandbox.psi import PlatformSide, serve

    secret = cli.settings.pseudonym_key
    key = secret.get_secret_value() if secret else None
    if not key:
        raise click.ClickException("YC_PSEUDONYM_KEY is not set")
    lake = Lake(cli.settings.lake_root)
    side = PlatformSide(cli.catalog(), cli.registry(), lake, key).load()
    click.echo(f"serving PSI for {len(side.ids)} residents on {path}")
    serve(side, path, sessions)


@command.command("client")
@click.option(
    "--socket",
    "path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="the platform's Unix socket",
)
@click.option("--consumer", required=True, help="the insurer asking")
@click.option(
    "--ids",
    "ids_file",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="applicants' ID numbers, one per line",
)
@click.option("--out", required=True, type=Output(), help="CSV file of the matched features")
def psi_client(path: Path, consumer: str, ids_file: Path, out: Path) -> None:
    """The insurer side: applicants' ID numbers in (one per line), their features out (CSV)."""
    from ycpipelines.sandbox.psi import PsiRefused, ask

    ids = ids_file.read_text(encoding="utf-8").splitlines()
    with refused(PsiRefused, prefix="refused: "):
        rows, exchanged = ask(path, consumer, ids)
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["id_number"])
        writer.writeheader()
        writer.writerows(rows)
    click.echo(f"{len(rows)} of {len(ids)} applicants matched; {exchanged} bytes exchanged")
