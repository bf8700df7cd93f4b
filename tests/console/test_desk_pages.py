"""The review desk's pages (审核台) on real requests (`review_desk.desk_requests`): the queue, the
evidence sheet, the reviewer's decision as the registry rules it, the 出域审核单 download, and
who may open what."""

import re
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from ycpipelines.foundation.clock import pilot_today
from ycpipelines.registry import Registry
from ycpipelines.registry.models import ApprovalRequest

from helpers import ADMIN, SHOTS, resident_identifiers, screenshot
from people import client, form_token, person, sign_in
from review_desk import (
    APPROVED,
    OPERATOR,
    PENDING,
    REVIEWER,
    SCENARIO,
    TWICE,
    desk_requests,
    pdf_text,
)
from screens import browsing

SECTIONS = (
    "申请",
    "字段与授权",
    "质量",
    "残留标识扫描",
    "隐私核验",
    "脱敏样例",
    "与上次交付相比",
    "贡献与价格",
    "用途、法律依据、保存期限",
)
QUEUE_LINK = re.compile(r'<td><a href="/desk/(\d+)">')


@pytest.fixture(scope="module")
def registry(egress_registry: Registry) -> Registry:
    """The console's registry is the one the requests were built in (PostgreSQL)."""
    return egress_registry


@pytest.fixture(scope="module")
def desk(registry: Registry, sources: dict, instance: dg.DagsterInstance) -> dict:
    found = desk_requests(registry, sources, instance)
    person(registry, ADMIN, ["admin"])
    return found


@pytest.fixture(scope="module")
def reviewer(app: FastAPI, desk: dict) -> TestClient:
    return sign_in(app, person(desk["registry"], REVIEWER, ["reviewer"]))


def pending_id(desk: dict) -> int:
    return desk["requests"][PENDING].id


def another_request(desk: dict, consumer: str) -> ApprovalRequest:
    """A pending request of the same built content for another authorized consumer, filed as
    the review sensor files it (so a test may decide it without touching PENDING's)."""
    registry, built = desk["registry"], desk["requests"][PENDING]
    grant = registry.grant(
        consumer=consumer, scenario=SCENARIO, fields=list(built.evidence["fields"]),
        valid_from=pilot_today(), valid_to=pilot_today() + timedelta(days=30),
        plan=f"预案-{consumer}", actor=ADMIN,
    )  # fmt: skip
    request, _ = registry.file_request(
        "egress-sensor", scenario=SCENARIO, consumer=consumer, authorization_id=grant.id,
        content_hash=built.content_hash, row_count=built.row_count,
        product_path=built.product_path, product_run_id=built.product_run_id,
        launched_by=built.launched_by, evidence=built.evidence,
    )  # fmt: skip
    return request


def decide(browser: TestClient, request_id: int, decision: str, comment: str | None):
    token = form_token(browser, f"/desk/{request_id}")
    data = {"csrf": token, "decision": decision}
    if comment is not None:
        data["comment"] = comment
    return browser.post(f"/desk/{request_id}/decision", data=data)


def test_a_reviewer_sees_the_queue_oldest_first(desk: dict, reviewer: TestClient) -> None:
    registry = desk["registry"]
    late = another_request(desk, "desk_late")
    older = desk["requests"][PENDING].requested_at - timedelta(hours=3)
    with Session(registry.engine) as session, session.begin():
        session.execute(
            update(ApprovalRequest).where(ApprovalRequest.id == late.id).values(requested_at=older)
        )
    page = reviewer.get("/desk")
    assert page.status_code == 200
    queue, _, decided = page.text.partition("最近的审核结论")
    ids = [int(i) for i in QUEUE_LINK.findall(queue)]
    assert ids[:2] == [late.id, pending_id(desk)], "filed later but requested earlier: first"
    assert {r.id for r in registry.requests("pending")} == set(ids)
    assert "3 小时" in queue, "the waiting time is shown"
    shown = {int(i) for i in QUEUE_LINK.findall(decided)}
    assert {desk["requests"][APPROVED].id, desk["requests"][TWICE].id} <= shown


def test_the_request_page_shows_every_section_and_at_most_twenty_sample_rows(
    desk: dict, reviewer: TestClient
) -> None:
    page = reviewer.get(f"/desk/{pending_id(desk)}")
    assert page.status_code == 200
    for section in SECTIONS:
        assert f">{section} <small>" in page.text, section
    assert 0 < page.text.count('class="sample-row"') <= 20
    assert "person_pid" in page.text and "settlements.id_number: pseudonymize" in page.text
    assert "通过" in page.text and desk["requests"][PENDING].content_hash in page.text
    assert f'action="/desk/{pending_id(desk)}/decision"' in page.text
    assert re.search(r'<textarea name="comment" required', page.text)


def test_a_decision_without_a_comment_is_refused_by_the_server(
    desk: dict, reviewer: TestClient
) -> None:
    request_id = pending_id(desk)
    for comment in (None, "", "   \n"):
        answer = decide(reviewer, request_id, "approve", comment)
        assert answer.status_code == 409, comment
        assert "needs a comment" in answer.text
    assert desk["registry"].request(request_id).status == "pending"


def test_an_approval_with_a_comment_is_recorded_for_that_reviewer_in_the_chain(
    desk: dict, reviewer: TestClient
) -> None:
    registry, request = desk["registry"], another_request(desk, "desk_ok")
    answer = decide(reviewer, request.id, "approve", "字段与授权一致，同意出域")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/desk/{request.id}?decided=approve"
    decided = registry.request(request.id)
    assert (decided.status, decided.reviewer) == ("approved", REVIEWER)
    entry = registry.history(f"request/{request.id}")[-1]
    assert (entry.action, entry.actor) == ("egress.approved", REVIEWER)
    assert registry.verified_approval(request.id).entry_id == entry.id
    page = reviewer.get(answer.headers["location"])
    assert "已记录您的审核结论" in page.text and "经审计链核验的批准" in page.text
    assert 'name="comment"' not in page.text, "a decided request has no form"
    refused = reviewer.post(
        f"/desk/{request.id}/decision",
        data={"csrf": form_token(reviewer, "/"), "decision": "reject", "comment": "再审"},
    )
    assert refused.status_code == 409 and "not pending" in refused.text
    assert registry.request(request.id).status == "approved"


def test_a_reviewer_who_launched_the_build_is_refused_on_the_page(app: FastAPI, desk: dict) -> None:
    registry = desk["registry"]
    request = another_request(desk, "desk_own")
    launcher = sign_in(app, person(registry, OPERATOR, ["reviewer"]))
    page = launcher.get(f"/desk/{request.id}")
    assert "您不能审核此申请" in page.text and "four eyes" in page.text
    assert 'name="comment"' not in page.text
    answer = launcher.post(
        f"/desk/{request.id}/decision",
        data={"csrf": form_token(launcher, "/"), "decision": "approve", "comment": "自己批"},
    )
    assert answer.status_code == 409
    assert "launched the product run" in answer.text and 'role="alert"' in answer.text
    assert registry.request(request.id).status == "pending"
    entry = registry.history(f"request/{request.id}")[-1]
    assert (entry.action, entry.actor) == ("egress.decision_refused", OPERATOR)


def test_a_supervisor_reads_the_desk_but_cannot_decide(app: FastAPI, desk: dict) -> None:
    registry, request_id = desk["registry"], desk["requests"][APPROVED].id
    request = another_request(desk, "desk_sup")
    supervisor = sign_in(app, person(registry, "监管丙", ["supervisor"]))
    assert supervisor.get("/desk").status_code == 200
    page = supervisor.get(f"/desk/{request.id}")
    assert page.status_code == 200 and 'name="comment"' not in page.text
    assert supervisor.get(f"/desk/{request_id}/form.pdf").status_code == 200
    answer = supervisor.post(
        f"/desk/{request.id}/decision",
        data={"csrf": form_token(supervisor, "/"), "decision": "approve", "comment": "监管批"},
    )
    assert answer.status_code == 403 and "无权限" in answer.text
    assert registry.request(request.id).status == "pending"


def test_bureaus_and_consumers_cannot_open_the_desk(
    app: FastAPI, desk: dict, reviewer: TestClient
) -> None:
    registry, request_id = desk["registry"], pending_id(desk)
    bureau = sign_in(app, person(registry, "医保局甲", ["bureau:medical_insurance"]))
    consumer = sign_in(app, person(registry, "保险乙", [f"consumer:{APPROVED}"]))
    for browser in (bureau, consumer):
        for path in ("/desk", f"/desk/{request_id}", f"/desk/{request_id}/form.pdf"):
            answer = browser.get(path)
            assert answer.status_code == 403 and "无权限" in answer.text, path
    assert reviewer.get("/desk/987654").status_code == 404
    assert client(app).get("/desk").headers["location"] == "/login"


def test_the_form_of_a_published_request_shows_its_approval_and_the_delivered_hash(
    desk: dict, reviewer: TestClient
) -> None:
    registry, request = desk["registry"], desk["requests"][TWICE]
    [delivery] = [d for d in registry.deliveries(consumer=TWICE) if d.request_id == request.id]
    answer = reviewer.get(f"/desk/{request.id}/form.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment;") and f"review-form-{request.id}.pdf" in disposition
    text = pdf_text(answer.content)
    assert request.content_hash in text and delivery.sha256 in text
    assert "approved, verified in the audit chain" in text and "not a decision" not in text
    decision = registry.verified_approval(request.id)
    assert f"审计链条目 audit entry\n{decision.entry_id}\n" in text
    page = reviewer.get(f"/desk/{request.id}")
    assert delivery.sha256 in page.text and "经审计链核验的批准" in page.text
    printed = registry.history(f"request/{request.id}")[-1]
    assert (printed.action, printed.actor) == ("egress.form_printed", REVIEWER)
    pending = pdf_text(reviewer.get(f"/desk/{pending_id(desk)}/form.pdf").content)
    assert desk["requests"][PENDING].content_hash in pending


def test_no_raw_source_value_is_on_the_desk_pages(
    desk: dict, reviewer: TestClient, yc_home: Path
) -> None:
    secrets = resident_identifiers(yc_home / "sources")
    assert len(secrets) > 100
    pages = {"/desk": reviewer.get("/desk").text}
    for consumer, request in desk["requests"].items():
        pages[consumer] = reviewer.get(f"/desk/{request.id}").text
    leaks = [f"{w}: {s[:1]}…({len(s)})" for w, t in pages.items() for s in secrets if s in t]
    assert not leaks, leaks[:10]


def test_the_request_page_in_a_browser(
    app: FastAPI, desk: dict, reviewer: TestClient, tmp_path: Path
) -> None:
    """The page under the strict CSP in Chromium; the screenshots are kept to be looked at."""
    request = another_request(desk, "desk_view")
    with browsing(app, reviewer) as (page, base):
        page.goto(f"{base}/desk/{request.id}")
        assert page.locator("h1").first.inner_text().startswith(f"出域申请 #{request.id}")
        assert 0 < page.locator("table.sample tbody tr").count() <= 20
        page.click("button[value=approve]")  # the empty comment: the browser refuses
        assert page.url.endswith(f"/desk/{request.id}")
        screenshot(page, tmp_path, "desk-request")
        page.goto(f"{base}/desk")
        screenshot(page, tmp_path, "desk-queue")
    assert desk["registry"].request(request.id).status == "pending"
    assert (SHOTS / "desk-request.png").exists()
