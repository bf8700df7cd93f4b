"""The quality report (数据质量报告) as an auditor reads it in Chromium: trends by partition day
with axes, dates and values, whatever order the runs came in; tickets filtered and paged."""

import re
import shutil
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import dagster as dg
import pytest
from playwright.sync_api import Page

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET
from ycpipelines.foundation.partitions import days_between, partition_key
from ycpipelines.govern.report import PartitionQuality, dataset_page, tickets_page, write_report
from ycpipelines.registry import Registry

from helpers import materializations, opened, screenshot

DATASET, BUREAU = "outpatient_visits", "health"
PER_PAGE = 3
ROWS = "#tickets tbody tr"


@pytest.fixture(scope="module")
def days(sources: dict, instance: dg.DagsterInstance) -> list[str]:
    """The demo's days, ingested newest first and the middle one last: run order is not
    partition order."""
    days = days_between(*(date.fromisoformat(sources[k]) for k in ("first", "end")))
    assert len(days) >= 3
    job = build_definitions(load_catalog()).resolve_job_def(f"ingest_{DATASET}")
    for day in [days[-1], days[0], *days[1:-1]]:
        result = job.execute_in_process(
            partition_key=partition_key(BUREAU, day), instance=instance, run_config=QUIET
        )
        assert result.success
    return days


@pytest.fixture(scope="module")
def report(days: list[str], instance: dg.DagsterInstance, yc_home: Path) -> Path:
    out = yc_home / "quality-report"
    write_report(instance, load_catalog(), Registry(), out)
    return out


def expected_share(instance: dg.DagsterInstance, day: str) -> float:
    meta = materializations(instance, dg.AssetKey(["std", DATASET]))[partition_key(BUREAU, day)]
    return 1 - int(meta["quarantined"]) / int(meta["collected"])


def test_the_trend_is_drawn_by_partition_day_with_axes_and_values(
    report: Path, days: list[str], instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    with opened(report / f"{DATASET}.html") as page:
        chart = page.locator("svg.trend").first
        dates = chart.locator("text.x-tick")
        assert dates.all_text_contents() == days
        xs = [float(x) for x in dates.evaluate_all("ts => ts.map(t => t.getAttribute('x'))")]
        assert xs == sorted(xs) and len(set(xs)) == len(xs)
        titles = chart.locator("text.axis-title").all_text_contents()
        assert titles == ["占比 share", "分区日期 partition day"]
        ticks = chart.locator("text.y-tick").all_text_contents()
        assert all(re.fullmatch(r"\d+%", t) for t in ticks) and ticks[-1] == "100%"
        assert [int(t[:-1]) for t in ticks] == sorted(int(t[:-1]) for t in ticks)
        values = chart.locator("text.value")
        assert values.evaluate_all("vs => vs.map(v => v.dataset.day)") == days
        for day, shown in zip(days, values.all_text_contents(), strict=True):
            assert shown == f"{expected_share(instance, day):.1%}"
        cells = page.locator("table tbody tr td:first-child").all_text_contents()
        assert cells == [str(partition_key(BUREAU, d)) for d in days]
        screenshot(page, tmp_path, "quality-report-dataset")


def visible(page: Page) -> list[str]:
    return page.locator(ROWS).filter(visible=True).evaluate_all("rs => rs.map(r => r.id)")


def test_tickets_are_paged_and_filtered(report: Path, days: list[str], tmp_path: Path) -> None:
    tickets = Registry().tickets()
    assert len(tickets) > PER_PAGE, "the demo days open several tickets"
    path = tmp_path / "tickets.html"
    path.write_text(tickets_page(tickets, per_page=PER_PAGE), encoding="utf-8")
    pages = -(-len(tickets) // PER_PAGE)
    with opened(path) as page:
        first = visible(page)
        assert first == [f"ticket-{t.id}" for t in tickets[:PER_PAGE]]
        assert page.locator("#page-info").text_content() == f"第 1 / {pages} 页 page"
        screenshot(page, tmp_path, "quality-report-tickets")
        page.click("#next")
        assert visible(page) == [f"ticket-{t.id}" for t in tickets[PER_PAGE : 2 * PER_PAGE]]
        page.select_option("#per-page", "100")
        page.fill("#filter-text", days[0])
        shown = visible(page)
        assert shown == [f"ticket-{t.id}" for t in tickets if t.day == days[0]]
        assert 0 < len(shown) < len(tickets)
        screenshot(page, tmp_path, "quality-report-tickets-filtered")
        page.fill("#filter-text", "")
        page.select_option("#filter-status", "open")
        assert visible(page) == [f"ticket-{t.id}" for t in tickets if t.status == "open"]


def test_a_ticket_link_opens_the_page_of_the_ticket(report: Path, tmp_path: Path) -> None:
    tickets = Registry().tickets()
    shutil.copytree(report, tmp_path / "report")
    paged = tmp_path / "report" / "tickets.html"
    paged.write_text(tickets_page(tickets, per_page=PER_PAGE), encoding="utf-8")
    [last] = [t for t in tickets if t.dataset == DATASET][-1:]
    assert tickets.index(last) >= PER_PAGE, "the ticket is past the first page"
    with opened(tmp_path / "report" / f"{DATASET}.html") as page:
        page.click(f"a[href='tickets.html#ticket-{last.id}']")
        page.wait_for_url(re.compile(r"tickets\.html#"))
        shown = visible(page)
        assert f"ticket-{last.id}" in shown and len(shown) <= PER_PAGE
        screenshot(page, tmp_path, "quality-report-ticket-link")


def test_a_long_history_keeps_its_date_labels_apart_and_spaced_by_day(tmp_path: Path) -> None:
    """Forty days with a week missing: every day has its point, placed by its date; the labels
    that fit are drawn without touching each other, the first and last days among them."""
    start = date(2025, 5, 1)
    days = [start + timedelta(n) for n in range(47) if not 20 <= n < 27]
    rows = [
        PartitionQuality(str(partition_key(BUREAU, d.isoformat())), 500, 480 + n % 7, 20 - n % 7)
        for n, d in enumerate(days)
    ]
    dataset = next(d for d in load_catalog().datasets if d.id == DATASET)
    path = tmp_path / "history.html"
    path.write_text(dataset_page(dataset, rows, []), encoding="utf-8")
    with opened(path) as page:
        chart = page.locator("svg.trend").first
        points = chart.locator("circle.point")
        assert points.count() == len(days)
        xs = [float(x) for x in points.evaluate_all("ps => ps.map(p => p.getAttribute('cx'))")]
        per_day = (xs[-1] - xs[0]) / (days[-1] - days[0]).days
        # the missing week keeps its room, and is not drawn as if it had been measured
        assert xs[20] - xs[19] == pytest.approx(8 * per_day, abs=0.2)
        assert chart.locator("polyline.line").count() == 2
        boxes = chart.locator("text.x-tick").evaluate_all(
            "ts => ts.map(t => { const b = t.getBBox(); return [b.x, b.x + b.width]; })"
        )
        assert all(left[1] < right[0] for left, right in pairwise(boxes))
        labels = chart.locator("text.x-tick").all_text_contents()
        assert labels[0] == days[0].isoformat() and labels[-1] == days[-1].isoformat()
        assert labels == sorted(labels) and len(labels) >= 5
        screenshot(page, tmp_path, "quality-report-long-history")
