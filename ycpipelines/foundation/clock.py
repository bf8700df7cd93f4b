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


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored instant in UTC, whatever zone the database returns it in (SQLite keeps none:
    a naive value is UTC)."""
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def stamp(moment: datetime | None) -> str:
    """An instant as ISO 8601 in the pilot's zone, e.g. 2025-06-30T09:12:03+08:00; a naive
    value (SQLite keeps no zone) is UTC."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(PILOT_ZONE).isoformat(timespec="seconds")


FIRST_YEAR, LAST_YEAR = 1900, 9998  # days typed in outside these years are refused


def in_calendar(day: date) -> bool:
    """Whether a typed day or month lies in years the platform reckons with (1900..9998): its
    zone shifts and the day after stay representable (no OverflowError at 0001 or 9999)."""
    return FIRST_YEAR <= day.year <= LAST_YEAR
