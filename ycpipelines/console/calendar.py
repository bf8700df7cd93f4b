"""The deliveries calendar of a bureau's dataset (交付日历): one cell per pilot day, coloured by
freshness (时效: committed within the source's `freshness_hours` after the day ended, late,
missing, or not due yet) and quality (质量: open feedback tickets on that partition)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ycpipelines.catalog import Dataset
from ycpipelines.foundation.clock import PILOT_ZONE, as_utc
from ycpipelines.registry import Registry

FRESHNESS = {  # class -> label
    "fresh": "按时 on time",
    "late": "迟报 late",
    "missing": "缺报 missing",
    "empty": "无数据 no rows",
    "due": "未到期 not due",
}
QUALITY = {"clean": "无问题工单", "issues": "有未关闭工单"}


@dataclass(frozen=True)
class DayCell:
    """One day of the calendar: its freshness and quality classes, rows and open tickets."""

    day: date
    freshness: str
    quality: str
    rows: int | None
    tickets: int

    @property
    def title(self) -> str:
        rows = "—" if self.rows is None else f"{self.rows} 行"
        return f"{self.day} · {FRESHNESS[self.freshness]} · {rows} · {self.tickets} 张未关闭工单"


def day_end(day: date) -> datetime:
    """The instant a pilot day ends (Asia/Shanghai midnight), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(), PILOT_ZONE).astimezone(UTC)


def freshness(day: date, committed: datetime | None, rows: int, hours: int, now: datetime) -> str:
    """How a day's delivery stands against its source's freshness window."""
    due = day_end(day) + timedelta(hours=hours)
    if committed is None:
        return "missing" if now > due else "due"
    if rows == 0:
        return "empty"
    return "fresh" if committed <= due else "late"


def calendar(store: Registry, dataset: Dataset, days: list[date], now: datetime) -> list[DayCell]:
    """A cell for each of `days` (oldest first) of `dataset`'s bureau."""
    commits = store.commits_since(dataset.id, dataset.bureau, days[0].isoformat())
    open_tickets: dict[str, int] = {}
    for ticket in store.tickets(bureau=dataset.bureau, dataset=dataset.id):
        if ticket.status != "closed":
            open_tickets[ticket.day] = open_tickets.get(ticket.day, 0) + 1
    cells = []
    for day in days:
        entry = commits.get(day.isoformat())
        rows = int(entry.detail.get("rows") or 0) if entry else None
        shown = freshness(
            day, as_utc(entry.at) if entry else None, rows or 0, dataset.source.freshness_hours, now
        )
        count = open_tickets.get(day.isoformat(), 0)
        cells.append(DayCell(day, shown, "issues" if count else "clean", rows, count))
    return cells


def weeks_back(today: date, weeks: int) -> list[list[date]]:
    """The calendar's weeks (Monday first) ending with the week of `today`."""
    monday = today - timedelta(days=today.weekday())
    start = monday - timedelta(weeks=weeks - 1)
    return [[start + timedelta(days=7 * w + d) for d in range(7)] for w in range(weeks)]
