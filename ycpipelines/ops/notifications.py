"""Posting notifications (通知推送) to the alert webhook: each notice the registry computes is
raised once (the alerts table deduplicates by subject) and posted by the same sender as run
failures; `ycp notify` calls it, as a sensor could. Payloads name ids and counts only."""

from dataclasses import dataclass
from datetime import date

from ycpipelines.ops.alerts import notify
from ycpipelines.registry import Registry


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
    outcomes = []
    for notice in notices:
        alert, _ = registry.raise_notice(notice)
        if not (alert.notified or "").startswith("HTTP 2"):
            outcomes.append(notify(registry, alert, url))
    return Posted(len(notices), len(outcomes), outcomes)
