"""The bureaus' desk (数源部门工作台) attacked: another bureau's ticket, thread step or dataset
asked for by id (404 in the pages and the API, like a missing one), ack then dispute (an empty
reason refused), the governance team's answer in the thread, a bureau closing its own ticket,
no CSRF token, a consumer at the desk; the calendar coloured by freshness and quality."""

import html
import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ycpipelines.console.sessions import COOKIE
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.feedback import Finding
from ycpipelines.registry import Registry
from ycpipelines.registry.models import Ticket

from helpers import screenshot
from people import form_token, person, sign_in
from screens import browsing

HEALTH, POLICE, OPS, ALICE = "卫健委丙", "公安丙", "运维丙", "甲保险丙"
DAYS = itertools.count(1)
MASKED = "1101**********1234"


@pytest.fixture(scope="module")
def health(app: FastAPI, registry: Registry) -> TestClient:
    return sign_in(app, person(registry, HEALTH, ["bureau:health"]))


@pytest.fixture(scope="module")
def police(app: FastAPI, registry: Registry) -> TestClient:
    return sign_in(app, person(registry, POLICE, ["bureau:population"]))


@pytest.fixture(scope="module")
def ops(app: FastAPI, registry: Registry) -> TestClient:
    return sign_in(app, person(registry, OPS, ["operator"]))


def ticket_of(registry: Registry, bureau: str = "health", day: str = "") -> Ticket:
    """A fresh ticket on a day of its own, naming one masked row and its source line."""
    day = day or f"2025-05-{next(DAYS):02d}"
    registry.sync_tickets(
        dataset="outpatient_visits", bureau=bureau, day=day, stage="govern", run_id="run-7",
        found={"id_valid": Finding("身份证号校验失败", 1, [f"{MASKED} @ visits.csv:17"])},
        clean=False,
    )  # fmt: skip
    return next(t for t in registry.tickets(bureau=bureau) if t.day == day)


def post_step(browser: TestClient, ticket: Ticket, action: str, note: str = ""):
    token = form_token(browser, "/bureau/tickets")
    data = {"csrf": token, "action": action, "note": note}
    return browser.post(f"/bureau/tickets/{ticket.id}", data=data)


def api_header(registry: Registry, browser: TestClient) -> dict[str, str]:
    found = registry.console_session(browser.cookies[COOKIE])
    assert found is not None
    return {"X-CSRF-Token": found.csrf}


def test_the_desk_shows_the_bureau_s_datasets_and_its_calendar(
    registry: Registry, health: TestClient
) -> None:
    today = pilot_today()
    for back, rows in ((1, 40), (3, 35)):  # on time; committed two days after its window
        day = (today - timedelta(days=back)).isoformat()
        registry.commit_collection(
            dataset="outpatient_visits", bureau="health", day=day, run_id=f"run-{back}",
            columns={}, watermark=None, counts={"rows": rows},
        )  # fmt: skip
    page = health.get("/bureau")
    assert page.status_code == 200
    assert "outpatient_visits" in page.text and "residents" not in page.text
    assert (
        page.text.count('class="day f-fresh') == 1
        and '<span class="rows">40 行</span>' in page.text
    )
    assert page.text.count('class="day f-late') == 1
    assert 'class="day f-missing' in page.text  # days before with no delivery
    assert health.get("/bureau?weeks=99").status_code == 422
    # the weeks ending with an earlier day: the two deliveries are past its window
    earlier = health.get(f"/bureau?weeks=2&until={today - timedelta(days=30)}").text
    assert 'class="day f-fresh' not in earlier and "40 行" not in earlier
    assert health.get("/bureau?until=yesterday").status_code == 422


def test_a_bureau_lists_and_opens_its_own_tickets_only(
    registry: Registry, health: TestClient, police: TestClient
) -> None:
    mine, theirs = ticket_of(registry), ticket_of(registry, "population")
    listed = health.get("/bureau/tickets").text
    assert f"/bureau/tickets/{mine.id}" in listed and f"/bureau/tickets/{theirs.id}" not in listed
    page = health.get(f"/bureau/tickets/{mine.id}")
    assert page.status_code == 200
    assert MASKED in page.text and "visits.csv:17" in page.text and "id_valid" in page.text
    for path in (f"/bureau/tickets/{theirs.id}", "/bureau/tickets/987654"):
        answer = health.get(path)
        assert answer.status_code == 404 and "未找到" in answer.text
    assert police.get(f"/bureau/tickets/{mine.id}").status_code == 404
    assert police.get(f"/api/bureau/tickets/{mine.id}").status_code == 404
    assert MASKED not in police.get(f"/api/bureau/tickets/{mine.id}").text
    assert [t["id"] for t in police.get("/api/bureau/tickets").json()] == [theirs.id]


def test_another_bureau_cannot_act_on_a_ticket(
    registry: Registry, health: TestClient, police: TestClient
) -> None:
    mine = ticket_of(registry)
    assert post_step(police, mine, "ack").status_code == 404
    assert post_step(police, mine, "dispute", "不是我们的").status_code == 404
    body = {"action": "ack", "note": ""}
    answer = police.post(
        f"/api/bureau/tickets/{mine.id}", json=body, headers=api_header(registry, police)
    )
    assert answer.status_code == 404
    assert registry.ticket(mine.id).status == "open" and registry.ticket_thread(mine.id) == []


def test_ack_then_dispute_with_a_reason_and_the_governance_answer_in_the_thread(
    registry: Registry, health: TestClient, ops: TestClient
) -> None:
    ticket = ticket_of(registry)
    assert post_step(health, ticket, "ack").status_code == 303
    empty = post_step(health, ticket, "dispute", "   ")
    assert empty.status_code == 409 and "dispute needs a reason" in empty.text
    assert post_step(health, ticket, "dispute", "源系统身份证号已核验无误").status_code == 303
    assert post_step(ops, ticket, "reply", "已复核：校验规则将更新").status_code == 303
    page = html.unescape(health.get(f"/bureau/tickets/{ticket.id}").text)
    order = [page.index(t) for t in ("确认 acknowledged", "源系统身份证号已核验无误", "已复核")]
    assert order == sorted(order) and OPS in page
    thread = health.get(f"/api/bureau/tickets/{ticket.id}").json()
    assert [m["kind"] for m in thread["messages"]] == ["ack", "dispute", "reply"]
    assert thread["ticket"]["status"] == "disputed"


def test_a_bureau_cannot_close_its_own_ticket_the_governance_team_can(
    registry: Registry, health: TestClient, ops: TestClient
) -> None:
    ticket = ticket_of(registry)
    refused = post_step(health, ticket, "close", "我们自己关了")
    assert refused.status_code == 409 and "may not close" in html.unescape(refused.text)
    assert "关闭工单" not in health.get(f"/bureau/tickets/{ticket.id}").text
    assert post_step(ops, ticket, "close", "已在源系统更正").status_code == 303
    assert registry.ticket(ticket.id).status == "closed"


def test_no_csrf_token_or_a_consumer_is_forbidden(
    app: FastAPI, registry: Registry, health: TestClient
) -> None:
    ticket = ticket_of(registry)
    forged = health.post(f"/bureau/tickets/{ticket.id}", data={"action": "ack"})
    api = health.post(f"/api/bureau/tickets/{ticket.id}", json={"action": "ack"})
    backfill = {"dataset": "outpatient_visits", "first": "2025-02-01", "last": "2025-02-01"}
    asked = health.post("/bureau/backfills", data=backfill)
    assert forged.status_code == api.status_code == asked.status_code == 403
    consumer = sign_in(app, person(registry, ALICE, ["consumer:insurer_a"]))
    for path in ("/bureau", "/bureau/tickets", f"/bureau/tickets/{ticket.id}", "/bureau/backfills"):
        assert consumer.get(path).status_code == 403
    token = form_token(consumer, "/")
    step = {"csrf": token, "action": "ack"}
    assert consumer.post(f"/bureau/tickets/{ticket.id}", data=step).status_code == 403
    assert consumer.post("/bureau/backfills", data={"csrf": token, **backfill}).status_code == 403
    assert registry.ticket(ticket.id).status == "open"


def test_a_bureau_backfills_its_own_partitions_only(
    registry: Registry, health: TestClient, police: TestClient
) -> None:
    token = form_token(health, "/bureau/backfills")
    days = {"first": "2025-02-10", "last": "2025-02-12"}
    own = {"csrf": token, "dataset": "outpatient_visits"}
    asked = health.post("/bureau/backfills", data={**own, **days})
    assert asked.status_code == 303
    page = health.get(asked.headers["location"])
    assert "2025-02-10 至 2025-02-12" in page.text and "0 / 3" in page.text
    before = len(registry.backfills_for(OPS))
    theirs = health.post("/bureau/backfills", data={"csrf": token, "dataset": "residents", **days})
    assert theirs.status_code == 404
    api = health.post(
        "/api/bureau/backfills",
        json={"dataset": "residents", **days},
        headers=api_header(registry, health),
    )
    assert api.status_code == 404 and api.json() == {"detail": "未找到，或不属于您 (not found)"}
    early = {**own, "first": "2020-01-01", "last": "2020-01-02"}
    refused = health.post("/bureau/backfills", data=early)
    assert refused.status_code == 409 and "outside the partitions" in refused.text
    assert len(registry.backfills_for(OPS)) == before
    assert "2025-02-10" not in police.get("/bureau/backfills").text
    assert [b["dataset"] for b in police.get("/api/bureau/backfills").json()] == []


def test_the_calendar_and_a_ticket_thread_in_a_browser(
    app: FastAPI, registry: Registry, health: TestClient, tmp_path: Path
) -> None:
    ticket = ticket_of(registry, day=(pilot_today() - timedelta(days=2)).isoformat())
    registry.act_on_ticket(ticket.id, "ack", actor=HEALTH, note="")
    registry.act_on_ticket(ticket.id, "dispute", actor=HEALTH, note="源系统数据经核验无误")
    registry.reply_ticket(ticket.id, actor=person(registry, OPS, ["operator"]).name, text="已复核")
    with browsing(app, health) as (page, base):
        page.goto(f"{base}/bureau")
        assert page.locator("table.calendar td.day").count() >= 28
        assert page.locator("td.day.q-issues a.tickets").count() == 1
        screenshot(page, tmp_path, "console-bureau-calendar")
        page.goto(f"{base}/bureau/tickets/{ticket.id}")
        assert page.locator("ol.thread li.message").count() == 3
        screenshot(page, tmp_path, "console-bureau-ticket")


def test_a_conflict_ticket_shows_its_masked_keys(registry: Registry, health: TestClient) -> None:
    registry.sync_tickets(
        dataset="outpatient_visits", bureau="health", day="2025-04-30", stage="one_source",
        run_id="run-8", found={"conflict:person.gender": Finding("不一致", 1, ["MZ2025***0006"])},
        clean=True,
    )  # fmt: skip
    ticket = next(t for t in registry.tickets(bureau="health") if t.day == "2025-04-30")
    page = health.get(f"/bureau/tickets/{ticket.id}").text
    assert '<td class="mono">MZ2025***0006</td><td class="mono"></td>' in page
