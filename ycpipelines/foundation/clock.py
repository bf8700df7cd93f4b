"""The pilot's calendar (试点日历): days are Asia/Shanghai days, whatever the server's zone."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PILOT_ZONE = ZoneInfo("Asia/Shanghai")


def pilot_today(now: datetime | None = None) -> date:
    """The pilot's day at `now` (default: this instant); a naive `now` is taken as UTC."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(PILOT_ZONE).date()
