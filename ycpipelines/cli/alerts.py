"""`ycp alerts`: failed runs the alert sensor recorded (告警)."""

import click

from ycpipelines.cli.context import Cli, pass_cli
from ycpipelines.cli.output import json_option, show


@click.command("alerts")
@json_option
@pass_cli
def command(cli: Cli, as_json: bool) -> None:
    """告警: failed runs recorded by the alert sensor, and what the webhook answered."""
    rows = [
        {
            "id": a.id,
            "raised_at": a.raised_at,
            "kind": a.kind,
            "subject": a.subject,
            "run_id": a.run_id,
            "notified": a.notified or "pending",
            "message": a.message,
        }
        for a in cli.registry().alerts()
    ]
    show(rows, as_json, title="alerts")
