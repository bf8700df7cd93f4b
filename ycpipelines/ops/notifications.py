"""Posting notifications (通知推送) to the alert webhook: each notice the registry computes is
raised once (the alerts table deduplicates by subject) and posted by the same sender as run
failures; `ycp notify` and the `platform_notices` sensor call it. Payloads name ids and counts
only."""

from dataclasses import dataclass
from datetime import date

import dagster as dg

from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.settings import Settings
from ycpipelines.ops.alerts import notify
from ycpipelines.registry import Registry
from ycpipelines.registry.resource import RegistryResource


@dataclass(frozen=True)
class Posted:
    """What one pass did: notices waiting, newly posted, and how the webhook answered them."""

    waiting: int
    posted: int
    outcomes: list[str]


def post_notices(registry: Registry, url: str | None, today: date) -> Posted:
    """Raise every waiting notice once and post those the webhook has not accepted yet (new,
    or unsent while the webhook was unset, failing or answering an error)."""
    notices = registry.notices(today)
    raised = registry.raised_notices(notices)
    outcomes = []
    for notice in notices:
        alert = raised.get(notice.subject) or registry.raise_notice(notice)[0]
        if not (alert.notified or "").startswith("HTTP 2"):
            outcomes.append(notify(registry, alert, url))
    return Posted(len(notices), len(outcomes), outcomes)


@dg.sensor(
    name="platform_notices",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="通知: new pending requests to reviewers, new tickets to bureaus, expiring "
    "authorizations to admins, posted once each to the operators' webhook.",
)
def platform_notices(context: dg.SensorEvaluationContext, registry: RegistryResource) -> None:
    done = post_notices(registry.registry, Settings().alert_webhook, pilot_today())
    if done.posted:
        context.log.info(f"{done.posted} of {done.waiting} notices posted: {done.outcomes}")
