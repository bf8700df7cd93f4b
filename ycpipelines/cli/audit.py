"""`ycp audit`: the hash-chained audit log (全流程审计): verify, anchor, export."""

import csv
import hashlib
import json
import shutil
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ycpipelines.cli.context import Cli, pass_cli, refused
from ycpipelines.cli.output import stamp
from ycpipelines.cli.params import Day, Output

if TYPE_CHECKING:
    from ycpipelines.registry.models import AuditEntry


@click.group("audit")
def command() -> None:
    """全流程审计: the hash-chained audit log."""


@command.command("verify")
@click.option(
    "--against",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="a copy of the checkpoints exported earlier (ycp audit anchor): they must still hold",
)
@pass_cli
def audit_verify(cli: Cli, against: Path | None) -> None:
    """Check the keyed chain, its signed checkpoints and the state tables; fail saying which
    check failed and since when."""
    from ycpipelines.registry.anchor import exported_checkpoints

    registry = cli.registry()
    exported = exported_checkpoints(against, registry.anchor) if against else None
    verdict = registry.verify_audit(exported)
    for problem in verdict.problems:
        click.echo(f"FAILED {problem.check} (since {problem.since}): {problem.message}", err=True)
    if not verdict.ok:
        raise click.ClickException(f"audit chain does not verify: {len(verdict.problems)} problems")
    point = verdict.checkpoint
    click.echo(
        f"audit chain verified: {verdict.entries} entries, head {verdict.head}; "
        + (f"newest signed checkpoint: entry {point.entry} at {point.at}" if point else "")
    )


@command.command("anchor")
@click.option("--out", required=True, type=Output(folder=True), help="folder to export into")
@pass_cli
def audit_anchor(cli: Cli, out: Path) -> None:
    """Export the signed checkpoints and the public key, for the supervisor (监管) to keep."""
    from ycpipelines.registry.anchor import CHECKPOINTS, PUBLIC_KEY

    anchor = cli.registry().anchor
    with refused(OSError, prefix=f"cannot export to {out}: "):
        for name in (CHECKPOINTS, PUBLIC_KEY):
            if (anchor.folder / name).exists():
                shutil.copyfile(anchor.folder / name, out / name)
    click.echo(f"exported {CHECKPOINTS} and {PUBLIC_KEY} to {out}")


def entry_row(e: "AuditEntry") -> dict[str, Any]:
    """An audit entry for auditors, with the hash of its payload."""
    payload = json.dumps(e.detail, ensure_ascii=False, sort_keys=True)
    return {
        "id": e.id,
        "at": stamp(e.at),
        "actor": e.actor,
        "action": e.action,
        "subject": e.subject,
        "payload": payload,
        "payload_hash": hashlib.sha256(payload.encode()).hexdigest(),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


@command.command("export")
@click.option("--from", "first", required=True, type=Day(), help="first day, YYYY-MM-DD")
@click.option("--to", "last", required=True, type=Day(), help="last day, YYYY-MM-DD")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", help="file format"
)
@click.option("--out", required=True, type=Output(), help="file to write")
@pass_cli
def audit_export(cli: Cli, first: date, last: date, fmt: str, out: Path) -> None:
    """Write the audit entries of a period (pilot days, Asia/Shanghai) for auditors, with each
    entry's payload hash."""
    from ycpipelines.foundation.clock import pilot_today

    rows = [entry_row(e) for e in cli.registry().audit_log() if first <= pilot_today(e.at) <= last]
    with (
        refused(OSError, prefix=f"cannot write {out}: "),
        out.open("w", encoding="utf-8", newline="") as f,
    ):
        if fmt == "json":
            json.dump(rows, f, ensure_ascii=False, indent=1)
        else:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["id"])
            writer.writeheader()
            writer.writerows(rows)
    click.echo(f"wrote {len(rows)} audit entries to {out}")
