"""The supervision pages (监管) attacked: other roles opening them, the supervisor posting the
admin's ledger forms, a form without its token, search filters that must really filter, pages
past the end, a reopening without a reason, and an audit row edited in the database, which the
verification page must show broken at that entry."""

import html
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from ycpipelines.foundation.clock import pilot_today
from ycpipelines.registry import Registry
from ycpipelines.registry.models import Delivery

from helpers import ADMIN, screenshot
from people import form_token, person, sign_in
from screens import browsing

SUPERVISOR, CONSUMER, BUREAU, OPERATOR = "钱监管", "丁保险", "卫健委丙", "周运维"
PAGES = ("/audit", "/audit/verify", "/supervision/deliveries", "/settlements", "/resources")
TODAY = pilot_today()


@pytest.fixture(scope="module")
def admin(app: FastAPI, registry: Registry) -> TestClient:
    return sign_in(app, person(registry, ADMIN, ["admin"]))


@pytest.fixture(scope="module")
def supervisor(app: FastAPI, registry: Registry) -> TestClient:
    return sign_in(app, person(registry, SUPERVISOR, ["supervisor"]))


@pytest.fixture(scope="module")
def others(app: FastAPI, registry: Registry) -> list[TestClient]:
    """A consumer, a bureau and an operator: none of them supervises."""
    roles = {CONSUMER: ["consumer:insurer_d"], BUREAU: ["bureau:health"], OPERATOR: ["operator"]}
    return [sign_in(app, person(registry, name, r)) for name, r in roles.items()]


def post(browser: TestClient, path: str, **data: object):
    """A form posted with the page's token."""
    return browser.post(path, data={"csrf": form_token(browser, "/"), **data})


def rows(page: str) -> list[str]:
    """The audit page's entries, as the text of their rows."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [html.unescape(r) for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def delivered(registry: Registry, period: str, cents: int, grant: int = 0) -> Delivery:
    """A priced delivery on the 10th of `period` (written directly: the pages are under test)."""
    n = len(registry.deliveries()) + 1
    at = datetime.strptime(f"{period}-10", "%Y-%m-%d").replace(tzinfo=UTC)
    found = Delivery(
        request_id=n, authorization_id=grant, consumer="insurer_d", scenario="disease_stats",
        version=f"v{n}", path="/zone/p.parquet", sha256="sha256:" + "a" * 64,
        product_sha256="sha256:b", rows=10, fingerprint="k", price_cents=cents,
        contributions={"health": 2, "civil": 1}, status="delivered", delivered_at=at,
    )  # fmt: skip
    with Session(registry.engine, expire_on_commit=False) as session, session.begin():
        session.add(found)
    return found


def test_other_roles_are_forbidden_and_the_supervisor_only_reads(
    supervisor: TestClient, others: list[TestClient]
) -> None:
    for browser in others:
        for path in (*PAGES, "/lineage"):
            assert browser.get(path).status_code == 403, path
        assert post(browser, "/settlements", period="2024-01").status_code == 403
    for path in PAGES:
        page = supervisor.get(path)
        assert page.status_code == 200, path
        assert 'method="post" action="/settlements' not in page.text
    assert post(supervisor, "/settlements", period="2024-01").status_code == 403
    answer = post(supervisor, "/settlements/2024-01/reopen", reason="supervisor tries")
    assert answer.status_code == 403


def test_a_form_without_its_token_is_refused(admin: TestClient, registry: Registry) -> None:
    before = len(registry.settlements())
    for path, data in (
        ("/settlements", {"period": "2024-02"}),
        ("/settlements/2024-02/reopen", {"reason": "x"}),
    ):
        assert admin.post(path, data=data).status_code == 403
        assert admin.post(path, data={**data, "csrf": "forged" * 8}).status_code == 403
    assert len(registry.settlements()) == before


def test_search_filters_really_filter(registry: Registry, supervisor: TestClient) -> None:
    registry.audit(SUPERVISOR, "filter.alpha", "filter/mine-1", {"n": 1})
    registry.audit(CONSUMER, "filter.beta", "filter/theirs-1", {"n": 2})
    mine = rows(supervisor.get("/audit", params={"actor": SUPERVISOR}).text)
    assert any("filter/mine-1" in r for r in mine)
    assert all(SUPERVISOR in r for r in mine) and not any("filter/theirs-1" in r for r in mine)
    by_action = rows(supervisor.get("/audit", params={"action": "filter.b"}).text)
    assert len(by_action) == 1 and "filter/theirs-1" in by_action[0]
    by_subject = rows(supervisor.get("/audit", params={"subject": "filter/mine"}).text)
    assert len(by_subject) == 1 and '{"n": 1}' in by_subject[0]
    today, tomorrow = str(TODAY), str(TODAY + timedelta(days=1))
    dated = supervisor.get("/audit", params={"action": "filter.", "since": today, "until": today})
    assert len(rows(dated.text)) == 2
    later = supervisor.get("/audit", params={"action": "filter.", "since": tomorrow})
    assert "no entries" in later.text
    assert supervisor.get("/audit", params={"since": "2025-02-30"}).status_code == 422


def test_pages_are_bounded(registry: Registry, supervisor: TestClient) -> None:
    for n in range(55):
        registry.audit(SUPERVISOR, "probe.page", f"page/{n}", {"n": n})
    first = supervisor.get("/audit", params={"action": "probe.page"})
    assert len(rows(first.text)) == 50 and "page/54" in rows(first.text)[0]
    assert "page=2" in first.text and 'rel="prev"' not in first.text
    second = supervisor.get("/audit", params={"action": "probe.page", "page": 2})
    assert len(rows(second.text)) == 5 and "page/0" in rows(second.text)[-1]
    far = supervisor.get("/audit", params={"page": 10**9})
    assert far.status_code == 200 and "no entries" in far.text
    for page in (0, -1, 10**10, "x"):
        assert supervisor.get("/audit", params={"page": page}).status_code == 422
    assert supervisor.get("/audit", params={"actor": "x" * 500}).status_code == 422


def test_an_edited_audit_row_shows_broken_at_that_entry(
    registry: Registry, supervisor: TestClient
) -> None:
    registry.audit(SUPERVISOR, "probe.tamper", "probe/tamper", {"n": 1})
    target = registry.search_audit(action="probe.tamper", limit=1)[0]
    page = html.unescape(supervisor.get("/audit/verify").text)
    assert "通过 verified" in page and "无 none" in page
    with registry.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET actor = 'someone' WHERE id = :id"), {"id": target.id}
        )
    try:
        page = html.unescape(supervisor.get("/audit/verify").text)
        assert "未通过 NOT verified" in page
        broken = re.search(r'id="first-broken">(.*?)</dd>', page, re.S)
        assert broken and f"#{target.id}<" in broken.group(1)
        assert f"entry {target.id} does not verify under the audit key" in page
    finally:
        with registry.engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_log SET actor = :a WHERE id = :id"),
                {"a": SUPERVISOR, "id": target.id},
            )
    assert registry.verify_audit().ok


def test_a_period_is_settled_and_reopened_on_the_page_through_a_correction(
    registry: Registry, admin: TestClient, supervisor: TestClient
) -> None:
    period = "2024-03"
    delivered(registry, period, 900)
    assert post(admin, "/settlements", period=period).status_code == 303
    assert {s.bureau: s.cents for s in registry.settlements(period=period)} == {
        "health": 600,
        "civil": 300,
    }
    again = post(admin, "/settlements", period=period)
    assert again.status_code == 409 and "already settled" in html.unescape(again.text)
    refused = post(admin, f"/settlements/{period}/reopen", reason="  ")
    assert refused.status_code == 409 and "needs a reason" in html.unescape(refused.text)
    assert registry.settlements(period=period, current=True)
    assert post(admin, f"/settlements/{period}/reopen", reason="价格录入错误").status_code == 303
    delivered(registry, period, 300)
    assert post(admin, "/settlements", period=period).status_code == 303
    current = {s.bureau: s.cents for s in registry.settlements(period=period, current=True)}
    assert current == {"health": 800, "civil": 400}
    page = html.unescape(supervisor.get("/settlements").text)
    assert "价格录入错误" in page and "12.00" in page, "the current total and the correction"
    entry = registry.search_audit(action="ledger.reopened", subject=f"period/{period}")[0]
    assert entry.actor == ADMIN and entry.detail["reason"] == "价格录入错误"
    assert registry.verify_audit().ok
    assert post(admin, "/settlements/2024-3/reopen", reason="x").status_code == 422


def test_deliveries_and_revocations_across_consumers(
    registry: Registry, supervisor: TestClient
) -> None:
    grant = registry.grant(
        consumer="insurer_d", scenario="disease_stats", fields=["visits"], plan="预案-d",
        valid_from=TODAY, valid_to=TODAY + timedelta(days=30), actor=ADMIN,
    )  # fmt: skip
    shown = delivered(registry, "2024-04", 0, grant=grant.id)
    registry.change_authorization(grant.id, "revoked", actor=ADMIN, reason="违规转授")
    page = html.unescape(supervisor.get("/supervision/deliveries").text)
    row = re.search(rf"<td class=\"num\">{shown.id}</td>(.*?)</tr>", page, re.S)
    assert row and "已撤回 revoked" in row.group(1)
    assert f"authorization/{grant.id}" in page and "违规转授" in page


def test_lineage_and_resource_map_render_quickly_enough(supervisor: TestClient) -> None:
    started = time.perf_counter()
    lineage = supervisor.get("/lineage")
    first = time.perf_counter() - started
    started = time.perf_counter()
    assert supervisor.get("/lineage").status_code == 200
    cached = time.perf_counter() - started
    assert lineage.status_code == 200 and "layer-raw" in lineage.text
    started = time.perf_counter()
    resources = supervisor.get("/resources")
    drawn = time.perf_counter() - started
    assert resources.status_code == 200 and "<svg id='map'" in resources.text
    assert cached < 0.5 and drawn < 1.0, (first, cached, drawn)
    print(f"lineage first {first:.2f}s, cached {cached:.3f}s; resources {drawn:.3f}s")


def test_the_audit_pages_in_a_browser(app: FastAPI, supervisor: TestClient, tmp_path) -> None:
    with browsing(app, supervisor) as (page, base):
        page.goto(f"{base}/audit")
        page.fill("input[name=action]", "probe.")
        page.click("form.search button[type=submit]")
        page.wait_for_url(re.compile(r".*action=probe\..*"))
        screenshot(page, tmp_path, "console-supervision-audit")
        page.goto(f"{base}/audit/verify")
        assert page.locator(".verdict").count() == 1
        screenshot(page, tmp_path, "console-supervision-audit-verify")
        page.goto(f"{base}/resources")
        page.focus("#map .node.field")
        assert page.locator("#map .edge.lit").count() > 0, "the map's script ran under the CSP"
        screenshot(page, tmp_path, "console-supervision-resources")
        for path in ("settlements", "supervision/deliveries"):
            page.goto(f"{base}/{path}")
            screenshot(page, tmp_path, f"console-supervision-{path.replace('/', '-')}")


@pytest.fixture(autouse=True)
def no_stray_rows(registry: Registry) -> Iterator[None]:
    yield
    assert registry.verify_audit().ok, registry.verify_audit().problems
