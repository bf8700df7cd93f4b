"""`ycp deliveries`: a consumer's own deliveries (交付): list them, download one checked against
its recorded hash, confirm the destruction of a revoked one. Acts as the login's account; another
consumer's delivery is reported as no such delivery."""

import os
import shutil
from pathlib import Path

import click

from ycpipelines.cli.context import Cli, pass_cli, registry_refusals
from ycpipelines.cli.output import json_option, show
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.files import FILE_MODE, private_opener


@click.group("deliveries")
def command() -> None:
    """交付: your consumer's deliveries; download them, confirm destroying revoked ones."""


@command.command("list")
@json_option
@pass_cli
def deliveries_list(cli: Cli, as_json: bool) -> None:
    """Your consumers' deliveries, oldest first, with what you may do with each (standing)."""
    from ycpipelines.registry.deliveries import standing

    registry = cli.registry()
    actor = cli.acting_user()
    grants = {a.id: a for a in registry.authorizations_for(actor)}
    today = pilot_today()
    rows = [
        {
            "id": d.id,
            "standing": standing(d, grants.get(d.authorization_id), today),
            "consumer": d.consumer,
            "scenario": d.scenario,
            "version": d.version,
            "rows": d.rows,
            "sha256": d.sha256,
            "authorization": d.authorization_id,
            "delivered_at": d.delivered_at,
        }
        for d in registry.deliveries_for(actor)
    ]
    show(rows, as_json, title="deliveries")


@command.command("download")
@click.argument("delivery_id", type=int)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="a new file to write")
@pass_cli
def deliveries_download(cli: Cli, delivery_id: int, out: Path) -> None:
    """Write a delivered file to --out (never over an existing file), checked against the hash
    its delivery recorded; refused while revoked, suspended or ended."""
    registry = cli.registry()
    actor = cli.acting_user()
    if out.exists() or out.is_symlink():
        raise click.ClickException(f"{out} exists; name a new file")
    with registry_refusals():
        download = registry.open_download(actor, delivery_id)
    try:
        with download.path.open("rb") as copy, open(out, "xb", opener=private_opener) as target:
            os.fchmod(target.fileno(), FILE_MODE)
            shutil.copyfileobj(copy, target, 1 << 20)
    finally:
        download.path.unlink(missing_ok=True)
    click.echo(f"delivery {delivery_id} ({download.filename}) → {out}: {download.sha256}")


@command.command("destroyed")
@click.argument("delivery_id", type=int)
@click.option("--note", required=True, help="what was destroyed, how and when")
@pass_cli
def deliveries_destroyed(cli: Cli, delivery_id: int, note: str) -> None:
    """Confirm that every copy of a revoked (or ended) delivery is destroyed (销毁确认), once."""
    registry = cli.registry()
    actor = cli.acting_user()
    with registry_refusals():
        delivery = registry.confirm_destroyed(actor, delivery_id, note)
    click.echo(f"delivery {delivery.id} {delivery.status}, confirmed by {actor}")
