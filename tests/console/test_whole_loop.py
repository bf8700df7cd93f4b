"""The platform's whole loop (运营平台闭环) in one real browser (Playwright over Debian's chromium),
every step a person takes done through the pages: a new account applies for admission (准入),
the admin admits it, the admitted consumer files a demand for an existing scenario (供需对接),
the joint lab approves it into an authorization, an operator's build files the request, a third
person approves it on the review desk, the publish run delivers, the consumer downloads the
delivered bytes, the supervisor finds every step in the audit log and verifies the chain; a
bureau acknowledges one of its tickets and disputes another. Screenshots: tests/artifacts/loop-*."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page
from stdnum.cn import uscc

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import launch, review_tick
from ycpipelines.egress.review import SENSOR_ACTOR
from ycpipelines.registry import Registry

from helpers import ADMIN, accounts, build_and_review, ingest_demo_days, screenshot
from people import Person, chromium, live, person, signed_in_page
from review_steps import COMMENT, approve_on_desk

SCENARIO = "claims_verification"
ENTITY = "loop_insurer"  # the applicant's entity: its consumer id once admitted
APPLICANT, LAB, REVIEWER = "闭环保险经办", "闭环实验室", "闭环审核员"
OPERATOR, SUPERVISOR, BUREAU = "闭环运维", "闭环监管", "闭环数源"
BODY = "91640100MA7LOOP01".replace("O", "0")  # 17 characters of the code's alphabet
FIELDS = [f.name for p in load_catalog().products if p.scenario == SCENARIO for f in p.fields]


@dataclass
class World:
    defs: dg.Definitions
    instance: dg.DagsterInstance
    people: dict[str, Person]
    bureau: str  # the bureau of BUREAU, holding open tickets from the ingested days


def ticketed_bureau(registry: Registry) -> str:
    """The bureau whose seeded defects in the ingested days opened tickets of both kinds the
    loop answers: a bad ID number (governance) and a conflict with the authority (一数一源)."""
    rules: dict[str, set[str]] = {}
    for ticket in registry.tickets(status="open"):
        rules.setdefault(ticket.bureau, set()).add(ticket.rule.split(":")[0])
    found = sorted(b for b, kinds in rules.items() if {"invalid", "conflict"} <= kinds)
    assert found, f"the demo days opened no such tickets: {rules}"
    return found[0]


@pytest.fixture(scope="module")
def world(yc_home: Path, sources: dict, instance: dg.DagsterInstance, registry: Registry) -> World:
    """The demo days ingested (their seeded defects open tickets) and the platform's people;
    the applicant's account has no role yet."""
    ingest_demo_days(sources)
    bureau = ticketed_bureau(registry)
    roles = {
        ADMIN: ["admin"], APPLICANT: [], LAB: ["lab"], REVIEWER: ["reviewer"],
        SUPERVISOR: ["supervisor"], BUREAU: [f"bureau:{bureau}"],
    }  # fmt: skip
    people = {name: person(registry, name, granted) for name, granted in roles.items()}
    accounts(registry, {OPERATOR: ["operator"]})  # launches builds; never signs in here
    return World(build_definitions(load_catalog()), instance, people, bureau)


def apply(page: Page, url: str, shots: Path) -> None:
    """1. The account with no roles applies for its entity's admission."""
    page.click("nav >> text=准入")
    page.fill("[name=entity_name]", "宁夏闭环保险股份有限公司")
    page.fill("[name=entity_id]", ENTITY)
    page.fill("[name=uscc]", BODY + uscc.calc_check_digit(BODY))
    page.fill("[name=contact]", "王经理 0951-1234567")
    page.fill("[name=qualifications]", "保险业务经营许可证；数据安全管理制度")
    page.check("[name=commitments]")
    screenshot(page, shots, "loop-1-apply")
    page.click("button:has-text('提交申请')")
    page.wait_for_selector("text=准入申请已提交")


def admit(browser: Browser, url: str, boss: Person, shots: Path) -> None:
    """2. The admin sees the application on the home page and admits it with a reason."""
    admin = signed_in_page(browser, url, boss)
    admin.click("ul.notices a[href^='/admission']")
    queued = admin.locator("tr", has_text=ENTITY)
    queued.locator("[name=reason]").fill("资质齐全，安全承诺已签署")
    screenshot(admin, shots, "loop-2-admission-queue")
    queued.locator("button").click()
    admin.wait_for_selector("text=已准入")
    screenshot(admin, shots, "loop-2-admitted")


def file_demand(browser: Browser, url: str, applicant: Person, shots: Path) -> None:
    """3. Signed in again (the new role ended the old session), the consumer files a demand
    for the existing scenario: fewer fields than its product's are refused (a product is
    delivered whole), all of them are filed."""
    page = signed_in_page(browser, url, applicant)
    page.click("nav >> text=供需对接")
    page.select_option("[name=scenario]", SCENARIO)
    page.wait_for_selector("#demand-fields >> text=整体交付")
    page.fill("[name=purpose]", "商业健康保险理赔核验")
    page.fill("[name=legal_basis]", "公共数据授权运营协议及理赔申请人授权")
    boxes = page.locator("#demand-fields input[name=fields]")
    assert boxes.count() == len(FIELDS) and all(b.is_checked() for b in boxes.all())
    for name in FIELDS[1:3]:
        page.uncheck(f"#demand-fields input[value='{name}']")
    page.click("button:has-text('提交需求')")
    page.wait_for_selector("text=delivered whole")
    screenshot(page, shots, "loop-3-demand-refused")
    page.select_option("[name=scenario]", SCENARIO)
    page.wait_for_selector("#demand-fields >> text=整体交付")
    page.fill("[name=purpose]", "商业健康保险理赔核验")
    page.fill("[name=legal_basis]", "公共数据授权运营协议及理赔申请人授权")
    screenshot(page, shots, "loop-3-demand")
    page.click("button:has-text('提交需求')")
    page.wait_for_selector("text=需求已提交")


def lab_approves(browser: Browser, url: str, lab: Person, shots: Path) -> None:
    """4. The joint lab's scenario review approves the demand with a comment and a 预案."""
    page = signed_in_page(browser, url, lab)
    page.click("nav >> text=供需对接")
    row = page.locator("tr", has_text=ENTITY).filter(has_text="待评审")
    row.locator("[name=comment]").fill("场景合理，字段最小够用")
    row.locator("[name=plan]").fill("发生泄露：停止交付，通知销毁，报告监管")
    screenshot(page, shots, "loop-4-scenario-review")
    row.locator("button").click()
    page.wait_for_selector("text=已批准")
    screenshot(page, shots, "loop-4-approved")


def download(browser: Browser, url: str, consumer: Person, shots: Path) -> tuple[bytes, str]:
    """7. The consumer downloads its delivery from 我的交付: the bytes and the hash header."""
    page = signed_in_page(browser, url, consumer)
    page.click("header nav >> text=我的交付")
    screenshot(page, shots, "loop-7-deliveries")
    with (
        page.expect_download() as got,
        page.expect_response(lambda r: "/download" in r.url) as sent,
    ):
        page.locator("a[href$='/download']").first.click()
    header = sent.value.all_headers()["x-content-sha256"]
    return Path(got.value.path()).read_bytes(), header


def audit_rows(page: Page, url: str, shot: Path | None = None, **search: str) -> set[tuple]:
    """The audit page searched through its form: (actor, action, object) of each row."""
    page.goto(f"{url}/audit")
    for name, value in search.items():
        page.fill(f"form.search input[name={name}]", value)
    page.click("form.search button[type=submit]")
    page.wait_for_url(f"{url}/audit?**")
    if shot:
        screenshot(page, shot.parent, shot.name)
    cells = page.locator("table.audit tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    return {(c[2], c[3], c[4]) for c in cells if len(c) == 6}


def supervise(browser: Browser, url: str, who: Person, expected: dict, shots: Path) -> None:
    """8. The supervisor searches the audit log for each step's object and finds its action by
    its actor, then verifies the chain and its checkpoints."""
    page = signed_in_page(browser, url, who)
    page.click("header nav >> text=审计日志")
    for subject, steps in expected.items():
        shot = shots / f"loop-8-audit-{subject.split('/')[0]}"
        found = audit_rows(page, url, shot, subject=subject)
        missing = [s for s in steps if (s[1], s[0], subject) not in found]
        assert not missing, (subject, missing, found)
    launched = audit_rows(page, url, actor=OPERATOR, action="run.launched")
    assert launched, "the operator's launch of the build is on record"
    page.click("a:has-text('核验审计链')")
    page.wait_for_url(f"{url}/audit/verify")
    screenshot(page, shots, "loop-8-audit-verify")
    assert "通过 verified" in page.locator(".verdict").inner_text()
    assert "一致 holds" in page.locator("dl.facts").inner_text()


def open_ticket(page: Page, url: str, rule: str) -> int:
    """From the bureau's ticket list, open the newest ticket of `rule`; its masked rows show."""
    page.goto(f"{url}/bureau/tickets")
    page.locator("tr", has_text=rule).first.locator("a").click()
    page.wait_for_url(f"{url}/bureau/tickets/*")
    keys = page.locator("table.list tbody tr td:nth-child(2)").all_inner_texts()
    assert keys and all(k.strip() for k in keys), f"masked rows of {rule} are missing"
    return int(page.url.rsplit("/", 1)[1])


def bureau_answers(browser: Browser, url: str, who: Person, shots: Path) -> list[int]:
    """9. The bureau opens its tickets from its desk, acknowledges one a governance rule opened
    (a bad ID number) and disputes one of 一数一源 with a reason; their ids, in that order."""
    page = signed_in_page(browser, url, who)
    page.click("header nav >> text=数源部门")
    screenshot(page, shots, "loop-9-bureau-calendar")
    page.click("p.subnav >> text=问题工单")
    page.wait_for_url(f"{url}/bureau/tickets")
    screenshot(page, shots, "loop-9-bureau-tickets")
    acked = open_ticket(page, url, "invalid:id_number")
    page.click("button:has-text('确认问题')")
    page.wait_for_selector("text=确认 acknowledged")
    screenshot(page, shots, "loop-9-ticket-acknowledged")
    disputed = open_ticket(page, url, "conflict:")
    page.fill("form:has(input[value=dispute]) textarea[name=note]", "源系统记录经核验无误，见附件")
    page.click("button:has-text('提出异议')")
    page.wait_for_selector("text=源系统记录经核验无误")
    screenshot(page, shots, "loop-9-ticket-disputed")
    return [acked, disputed]


def test_the_whole_loop_through_the_pages(
    world: World, app: FastAPI, registry: Registry, tmp_path: Path
) -> None:
    people = world.people
    with live(app) as url, chromium() as browser:
        apply(signed_in_page(browser, url, people[APPLICANT]), url, tmp_path)
        admit(browser, url, people[ADMIN], tmp_path)
        file_demand(browser, url, people[APPLICANT], tmp_path)
        lab_approves(browser, url, people[LAB], tmp_path)
        [demand] = [d for d in registry.demands() if d.consumer == ENTITY]
        grant = registry.authorization(demand.authorization_id or 0)
        assert (grant.granted_by, grant.fields) == (LAB, FIELDS)

        requests = build_and_review(world.defs, world.instance, registry, OPERATOR, SCENARIO)
        request = requests[ENTITY]  # 5. the operator's build filed the consumer's request
        assert (request.status, request.launched_by) == ("pending", OPERATOR)
        desk = signed_in_page(browser, url, people[REVIEWER])
        approve_on_desk(desk, url, request.id, tmp_path, prefix="loop-6")
        assert (registry.request(request.id).reviewer, registry.request(request.id).comment) == (
            REVIEWER,
            COMMENT,
        )
        for run in review_tick(world.defs, world.instance):  # 6. the publish run follows
            assert launch(world.defs, world.instance, run).success
        assert registry.request(request.id).status == "published"

        data, header = download(browser, url, people[APPLICANT], tmp_path)
        [delivery] = registry.deliveries(consumer=ENTITY)
        assert f"sha256:{hashlib.sha256(data).hexdigest()}" == header == delivery.sha256
        assert data == Path(delivery.path).read_bytes()

        supervise(browser, url, people[SUPERVISOR], expected_steps(registry, request.id), tmp_path)
        acked, disputed = bureau_answers(browser, url, people[BUREAU], tmp_path)
    assert (registry.ticket(acked).status, registry.ticket(disputed).status) == (
        "acknowledged",
        "disputed",
    )
    assert all(registry.ticket(t).bureau == world.bureau for t in (acked, disputed))
    assert registry.verify_audit().ok


def expected_steps(registry: Registry, request_id: int) -> dict[str, list[tuple[str, str]]]:
    """Per audited object of the loop, its (action, actor) steps."""
    [admission] = registry.admissions_of(APPLICANT)
    [demand] = [d for d in registry.demands() if d.consumer == ENTITY]
    [delivery] = registry.deliveries(consumer=ENTITY)
    publisher = registry.history(f"request/{request_id}")[-1].actor
    return {
        f"admission/{admission.id}": [
            ("admission.applied", APPLICANT),
            ("admission.admitted", ADMIN),
        ],
        f"demand/{demand.id}": [("demand.filed", APPLICANT), ("demand.approved", LAB)],
        f"authorization/{demand.authorization_id}": [("auth.granted", LAB)],
        f"request/{request_id}": [
            ("egress.requested", SENSOR_ACTOR),
            ("egress.approved", REVIEWER),
            ("egress.published", publisher),
        ],
        f"delivery/{delivery.id}": [("delivery.downloaded", APPLICANT)],
    }
