"""The quality report (数据质量报告): static HTML per dataset and partition, from the runs.

It reads the std/ materializations and quality checks from the Dagster instance and the tickets
from the registry, and shows counts, verdicts and masked keys only — never values. Trends are
drawn by partition day (分区日期) as inline SVG; the tickets page filters and pages with a
small inline script. Nothing is fetched from the network.
"""

import html
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from statistics import fmean

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.foundation.keys import std_key
from ycpipelines.govern.checks import QUALITY_GATE, QUARANTINE_SHARE
from ycpipelines.registry import Registry
from ycpipelines.registry.models import Ticket

HISTORY = 10_000
PER_PAGE = 20
CHART_W, CHART_H = 640, 230
LEFT, RIGHT, TOP, BOTTOM = 64, 28, 30, 58
INSET = 24  # px between the axes and the first or last day
LABEL_SPACING = 84  # px between two date labels on the x axis
Y_STEPS = 5
STYLE = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", system-ui, sans-serif;
  margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; font-size: .9rem; }
th { background: #f3f3f3; } .pass { color: #11772d; } .fail { color: #b00020; font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; } figcaption { font-size: .9rem; color: #444; }
.trend { background: #fcfcfc; border: 1px solid #ddd; font-size: 11px; }
.trend .grid { stroke: #e4e4e4; } .trend .axis { stroke: #555; }
.trend .line { fill: none; stroke: #3366cc; stroke-width: 2; }
.trend .point { fill: #3366cc; } .trend .value { fill: #1d3d80; font-weight: bold; }
.trend .axis-title { fill: #444; font-size: 12px; }
.controls { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
.pager button { margin: 0 .3rem; } tr:target { outline: 2px solid #e0a800; }
td:first-child, td a, td.day { white-space: nowrap; }
td.keys { font-size: .8rem; font-family: ui-monospace, monospace; white-space: nowrap; }
#tickets td:nth-child(7) { min-width: 14em; }
"""
TICKETS_SCRIPT = """
(() => {
  const rows = [...document.querySelectorAll('#tickets tbody tr')];
  const text = document.getElementById('filter-text');
  const status = document.getElementById('filter-status');
  const bureau = document.getElementById('filter-bureau');
  const per = document.getElementById('per-page');
  const info = document.getElementById('page-info');
  const count = document.getElementById('match-count');
  let page = 0;
  const matching = () => rows.filter(r =>
    (!status.value || r.dataset.status === status.value) &&
    (!bureau.value || r.dataset.bureau === bureau.value) &&
    r.textContent.toLowerCase().includes(text.value.trim().toLowerCase()));
  function show() {
    const shown = matching(), size = Number(per.value);
    const pages = Math.max(1, Math.ceil(shown.length / size));
    page = Math.min(Math.max(page, 0), pages - 1);
    rows.forEach(r => { r.hidden = true; });
    shown.slice(page * size, (page + 1) * size).forEach(r => { r.hidden = false; });
    info.textContent = `第 ${page + 1} / ${pages} 页 page`;
    count.textContent = `${shown.length} / ${rows.length} 条 tickets`;
    document.getElementById('prev').disabled = page === 0;
    document.getElementById('next').disabled = page >= pages - 1;
  }
  const restart = () => { page = 0; show(); };
  [text, status, bureau, per].forEach(e => e.addEventListener('input', restart));
  document.getElementById('prev').addEventListener('click', () => { page -= 1; show(); });
  document.getElementById('next').addEventListener('click', () => { page += 1; show(); });
  function reveal() {
    const target = rows.find(r => '#' + r.id === location.hash);
    if (!target) return;
    text.value = status.value = bureau.value = '';
    page = Math.floor(matching().indexOf(target) / Number(per.value));
    show();
    target.scrollIntoView();
  }
  window.addEventListener('hashchange', reveal);
  document.getElementById('controls').hidden = false;
  show();
  reveal();
})();
"""


@dataclass
class PartitionQuality:
    """What the newest govern run of one partition recorded."""

    partition: str
    collected: int = 0
    standardized: int = 0
    quarantined: int = 0
    checks: dict[str, bool] = field(default_factory=dict)
    failed: str = ""
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    @property
    def share(self) -> float:
        return self.quarantined / self.collected if self.collected else 0.0

    @property
    def day(self) -> date:
        """The partition's day (the `date` part of a bureau × day key)."""
        for part in self.partition.split("|"):
            try:
                return date.fromisoformat(part)
            except ValueError:
                continue
        raise ValueError(f"partition {self.partition!r} names no day")


def partitions(instance: dg.DagsterInstance, dataset: Dataset) -> list[PartitionQuality]:
    """The newest recorded quality of each partition of a dataset, oldest partition day first
    (whatever order the runs came in)."""
    key = std_key(dataset)
    found: dict[str, PartitionQuality] = {}
    records = instance.fetch_materializations(key, limit=HISTORY, ascending=True).records
    for record in records:
        m = record.asset_materialization
        if m is None or m.partition is None or "failure" in m.metadata:
            continue  # a day that failed inside a range run: the lake keeps what it had
        meta = {k: v.value for k, v in m.metadata.items()}
        found[m.partition] = PartitionQuality(
            m.partition,
            collected=int(meta.get("collected", 0)),
            standardized=int(meta.get("dagster/row_count", 0)),
            quarantined=int(meta.get("quarantined", 0)),
        )
    for check in (QUALITY_GATE, QUARANTINE_SHARE):
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(key, check), limit=HISTORY
        )
        for execution in reversed(history):  # newest last, so the newest wins
            evaluation = execution.evaluation
            if evaluation is None or execution.partition not in found:
                continue
            quality = found[execution.partition]
            quality.checks[check] = evaluation.passed
            meta = {k: v.value for k, v in evaluation.metadata.items()}
            if check == QUALITY_GATE:
                quality.failed = str(meta.get("failed", ""))
                quality.scores = {
                    k: float(v)
                    for k, v in meta.items()
                    if isinstance(v, float) and not isinstance(v, bool)
                }
    return sorted(found.values(), key=lambda q: (q.day, q.partition))


def passing_by_day(rows: list[PartitionQuality]) -> list[tuple[date, float]]:
    """Per partition day, the share of collected rows that passed the row-level rules."""
    collected: dict[date, int] = defaultdict(int)
    quarantined: dict[date, int] = defaultdict(int)
    for q in rows:
        collected[q.day] += q.collected
        quarantined[q.day] += q.quarantined
    return [(d, 1 - quarantined[d] / n if n else 1.0) for d, n in sorted(collected.items())]


def score_by_day(rows: list[PartitionQuality], name: str) -> list[tuple[date, float]]:
    """Per partition day, the mean of one gate score over the day's partitions that have it."""
    values: dict[date, list[float]] = defaultdict(list)
    for q in rows:
        if name in q.scores:
            values[q.day].append(q.scores[name])
    return [(d, fmean(v)) for d, v in sorted(values.items())]


@dataclass(frozen=True)
class Frame:
    """Where a chart's days and values land: x by day since the first, y from `low` to 1."""

    first: date
    span: int
    low: float

    @classmethod
    def of(cls, points: list[tuple[date, float]]) -> "Frame":
        low = min(v for _, v in points)
        floor = max(0.0, math.floor(min(low, 0.95) * 10) / 10)  # at least 0.9 – 1 shown
        return cls(points[0][0], (points[-1][0] - points[0][0]).days, floor)

    def x(self, day: date) -> float:
        width = CHART_W - LEFT - RIGHT - 2 * INSET
        offset = (day - self.first).days / self.span * width if self.span else width / 2
        return LEFT + INSET + offset

    def y(self, value: float) -> float:
        height = CHART_H - TOP - BOTTOM
        return TOP + (1 - (min(max(value, self.low), 1.0) - self.low) / (1 - self.low)) * height


def y_axis(frame: Frame) -> str:
    """Gridlines and percent labels on the value axis, with its title."""
    parts = []
    for i in range(Y_STEPS + 1):  # steps of whole percents: `low` is a tenth
        value = frame.low + (1 - frame.low) * i / Y_STEPS
        y = frame.y(value)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{CHART_W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="y-tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{value:.0%}</text>"
        )
    middle = TOP + (CHART_H - TOP - BOTTOM) / 2
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{CHART_H - BOTTOM}"/>'
        f'<text class="axis-title" transform="translate(14 {middle:.0f}) rotate(-90)" '
        'text-anchor="middle">占比 share</text>'
    )
    return "".join(parts)


def labelled(frame: Frame, points: list[tuple[date, float]]) -> list[bool]:
    """Which days get a date and value label: the last always, the others from the first on
    when at least LABEL_SPACING from the previous label and from the last day."""
    xs = [frame.x(day) for day, _ in points]
    shown, previous = [], -math.inf
    for x in xs:
        fits = x - previous >= LABEL_SPACING and xs[-1] - x >= LABEL_SPACING
        shown.append(fits)
        previous = x if fits else previous
    return [*shown[:-1], True]


def x_axis(frame: Frame, points: list[tuple[date, float]]) -> str:
    """The day axis: a tick per partition day, a label per labelled day, and its title."""
    base = CHART_H - BOTTOM
    parts = [f'<line class="axis" x1="{LEFT}" x2="{CHART_W - RIGHT}" y1="{base}" y2="{base}"/>']
    for (day, _), shown in zip(points, labelled(frame, points), strict=True):
        x = frame.x(day)
        parts.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 4}"/>')
        if shown:
            parts.append(
                f'<text class="x-tick" x="{x:.1f}" y="{base + 18}" text-anchor="middle" '
                f'data-day="{day}">{day}</text>'
            )
    parts.append(
        f'<text class="axis-title" x="{LEFT + (CHART_W - LEFT - RIGHT) / 2:.0f}" '
        f'y="{CHART_H - 10}" text-anchor="middle">分区日期 partition day</text>'
    )
    return "".join(parts)


def marks(frame: Frame, points: list[tuple[date, float]]) -> str:
    """A line through the values of consecutive days, a dot per day (its value in a tooltip),
    and the values."""
    runs: list[list[tuple[date, float]]] = []  # consecutive days; a missing day breaks the line
    for point in points:
        if runs and (point[0] - runs[-1][-1][0]).days == 1:
            runs[-1].append(point)
        else:
            runs.append([point])
    parts = [
        '<polyline class="line" points="'
        + " ".join(f"{frame.x(d):.1f},{frame.y(v):.1f}" for d, v in run)
        + '"/>'
        for run in runs
    ]
    for (day, value), shown in zip(points, labelled(frame, points), strict=True):
        x, y = frame.x(day), frame.y(value)
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" data-day="{day}">'
            f"<title>{day}: {value:.2%}</title></circle>"
        )
        if shown:
            parts.append(
                f'<text class="value" x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" '
                f'data-day="{day}">{value:.1%}</text>'
            )
    return "".join(parts)


def trend(points: list[tuple[date, float]], label: str) -> str:
    """An inline SVG line chart of values in [0, 1] by partition day, with axes and values."""
    if not points:
        return ""
    frame = Frame.of(points)
    return (
        f'<figure><svg class="trend" width="{CHART_W}" height="{CHART_H}" role="img" '
        f'aria-label="{html.escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"{y_axis(frame)}{x_axis(frame, points)}{marks(frame, points)}</svg>"
        f"<figcaption>{html.escape(label)}</figcaption></figure>"
    )


def page(title: str, body: str, script: str = "") -> str:
    tail = f"<script>{script}</script>" if script else ""
    return (
        f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}{tail}</body></html>"
    )


def table(head: list[str], rows: list[str], attributes: str = "") -> str:
    """A table with a header row of escaped titles and the given body rows."""
    titles = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return (
        f"<table{attributes}><thead><tr>{titles}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def ticket_links(tickets: list[Ticket]) -> str:
    return " ".join(
        f'<a href="tickets.html#ticket-{t.id}">#{t.id} {html.escape(t.status)}</a>' for t in tickets
    )


def charts(rows: list[PartitionQuality]) -> str:
    """The pass-share trend and one trend per gate score in [0, 1], by partition day."""
    names = sorted({name for q in rows for name in q.scores})
    drawn = trend(passing_by_day(rows), "通过行级规则的行占比 rows passing the row-level rules")
    drawn += "".join(
        trend(score_by_day(rows, n), f"质量评分 {n} score")
        for n in names
        if all(0.0 <= q.scores.get(n, 0.0) <= 1.0 for q in rows)
    )
    return f'<div class="charts">{drawn}</div>'


def dataset_page(dataset: Dataset, rows: list[PartitionQuality], tickets: list[Ticket]) -> str:
    by_partition: dict[str, list[Ticket]] = defaultdict(list)
    for t in tickets:
        by_partition[f"{t.bureau}|{t.day}"].append(t)
    score_names = sorted({name for q in rows for name in q.scores})
    head = [
        "分区 partition",
        "结论 verdict",
        "归集 collected",
        "标准化 standardized",
        "隔离 quarantined",
        "隔离占比 share",
        "未通过的规则 failed expectations",
        *score_names,
        "反馈单 tickets",
    ]
    body = []
    for q in rows:
        verdict = '<span class="pass">pass</span>' if q.passed else '<span class="fail">fail</span>'
        cells = [
            html.escape(q.partition),
            verdict,
            str(q.collected),
            str(q.standardized),
            str(q.quarantined),
            f"{q.share:.2%}",
            html.escape(q.failed or "none"),
            *(f"{q.scores[n]:.4f}" if n in q.scores else "" for n in score_names),
            ticket_links(by_partition.get(q.partition, [])),
        ]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return page(
        f"{dataset.label} {dataset.id}",
        f'<p><a href="index.html">全部数据集 all datasets</a> · 规则 suite '
        f"expectations/{dataset.id}.json · 隔离阈值 quarantine threshold "
        f"{dataset.quarantine_threshold:.0%}</p>{charts(rows)}{table(head, body)}",
    )


def choices(element: str, label: str, values: set[str]) -> str:
    """A select of one ticket attribute, '' (all) first."""
    options = "".join(f"<option>{html.escape(v)}</option>" for v in sorted(values))
    return (
        f'<label>{label} <select id="{element}"><option value="">全部 all</option>'
        f"{options}</select></label>"
    )


def ticket_controls(tickets: list[Ticket], per_page: int) -> str:
    """Filter and pager; hidden until the script runs (without it every row shows)."""
    sizes = sorted({per_page, 10, 20, 50, 100})
    per = "".join(f"<option{' selected' if n == per_page else ''}>{n}</option>" for n in sizes)
    return (
        '<div id="controls" class="controls" hidden>'
        '<label>筛选 filter <input id="filter-text" type="search" '
        'placeholder="规则、日期… rule, day"></label>'
        + choices("filter-status", "状态 status", {t.status for t in tickets})
        + choices("filter-bureau", "部门 bureau", {t.bureau for t in tickets})
        + f'<label>每页 per page <select id="per-page">{per}</select></label>'
        '<span class="pager"><button id="prev" type="button">上一页 prev</button>'
        '<span id="page-info"></span><button id="next" type="button">下一页 next</button></span>'
        '<span id="match-count"></span></div>'
    )


def row_keys(ticket: Ticket, shown: int = 20) -> str:
    """The ticket's rows (masked key @ source line), one a line, the first `shown` of them."""
    keys = "<br>".join(html.escape(k) for k in ticket.row_keys[:shown])
    more = len(ticket.row_keys) - shown
    return keys + (f"<br>… 另 {more} 行 more" if more > 0 else "")


def tickets_page(tickets: list[Ticket], per_page: int = PER_PAGE) -> str:
    """Every ticket, filterable by text, status and bureau, `per_page` rows a page."""
    esc = html.escape
    rows = [
        f'<tr id="ticket-{t.id}" data-status="{esc(t.status)}" data-bureau="{esc(t.bureau)}">'
        f"<td>#{t.id}</td><td>{esc(t.status)}</td>"
        f'<td>{esc(t.bureau)}</td><td>{esc(t.dataset)}</td><td class="day">{t.day}</td>'
        f"<td>{esc(t.rule)}</td><td>{esc(t.reason)}</td><td>{t.count}</td>"
        f'<td class="keys">{row_keys(t)}</td><td>{esc(t.note or "")}</td>'
        "</tr>"
        for t in tickets
    ]
    head = [
        "反馈单 ticket",
        "状态 status",
        "部门 bureau",
        "数据集 dataset",
        "日期 day",
        "规则 rule",
        "原因 reason",
        "行数 rows",
        "问题行 rows (masked key @ source line)",
        "备注 note",
    ]
    return page(
        "问题数据反馈单 Feedback tickets",
        '<p><a href="index.html">数据质量报告 quality report</a></p>'
        + ticket_controls(tickets, per_page)
        + table(head, rows, ' id="tickets"'),
        TICKETS_SCRIPT,
    )


def write_report(
    instance: dg.DagsterInstance, catalog: Catalog, registry: Registry, out: Path
) -> list[Path]:
    """Write index.html, one page per dataset and tickets.html under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    tickets = registry.tickets()
    written = []
    summary = []
    for dataset in catalog.datasets:
        rows = partitions(instance, dataset)
        mine = [t for t in tickets if t.dataset == dataset.id]
        path = out / f"{dataset.id}.html"
        path.write_text(dataset_page(dataset, rows, mine), encoding="utf-8")
        written.append(path)
        failing = sum(not q.passed for q in rows)
        open_tickets = sum(t.status != "closed" for t in mine)
        summary.append(
            f'<tr><td><a href="{dataset.id}.html">{html.escape(dataset.label)}</a></td>'
            f"<td>{html.escape(dataset.bureau)}</td><td>{len(rows)}</td>"
            f'<td class="{"fail" if failing else "pass"}">{failing}</td>'
            f"<td>{open_tickets}</td></tr>"
        )
    (out / "tickets.html").write_text(tickets_page(tickets), encoding="utf-8")
    index = out / "index.html"
    head = [
        "数据集 dataset",
        "部门 bureau",
        "分区 partitions",
        "未通过 failing",
        "未关闭 open tickets",
    ]
    index.write_text(
        page(
            "数据质量报告 Quality report",
            '<p><a href="tickets.html">问题数据反馈单 feedback tickets</a></p>'
            + table(head, summary),
        ),
        encoding="utf-8",
    )
    return [index, *written, out / "tickets.html"]
