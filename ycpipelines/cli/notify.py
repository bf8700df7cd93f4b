"""`ycp notify`: post waiting notifications (通知) to the alert webhook, each once."""

import click

from ycpipelines.cli.context import Cli, pass_cli
from ycpipelines.cli.output import json_option, show
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.ops.notifications import post_notices


@click.command("notify")
@json_option
@pass_cli
def command(cli: Cli, as_json: bool) -> None:
    """通知: pending requests, open tickets, expiring authorizations, pending admissions and
    demands, each posted once to YC_ALERT_WEBHOOK (ids and counts only)."""
    done = post_notices(cli.registry(), cli.settings.alert_webhook, pilot_today())
    rows = [{"waiting": done.waiting, "posted": done.posted, "answers": ", ".join(done.outcomes)}]
    show(rows, as_json, title="notifications")
