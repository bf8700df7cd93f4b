"""The admission and demand pages (准入, 供需对接) and the home page's notifications (通知),
attacked: a bad USCC, the admin's queue posted by others or without the form token, a refusal
without a reason, a 禁止开放 or dropped field posted although the form does not offer it,
another bureau's ticket notice; then the whole loop in a real browser."""

import itertools
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from stdnum.cn import uscc

from ycpipelines.foundation.feedback import Finding
from ycpipelines.registry import Registry

from helpers import ADMIN, screenshot
from people import Person, chromium, form_token, live, person, sign_in, signed_in_page

LAB = "吴实验室"
COUNTER = itertools.count(1)


def code(n: int) -> str:
    body = f"91640100MA{n:07d}"
    return body + uscc.calc_check_digit(body)


def post(browser: TestClient, path: str, **data: object):
    return browser.post(path, data={"csrf": form_token(browser, "/"), **data})


def applying(n: int, **changed: object) -> dict:
    form = {
        "entity_id": f"page_entity_{n}",
        "entity_name": f"宁夏页面测试公司{n}",
        "uscc": code(7000 + n),
        "contact": "王经理 0951-1111111",
        "qualifications": "保险业务经营许可证",
        "commitments": "true",
    }
    return form | changed


def newcomer(app: FastAPI, registry: Registry) -> tuple[Person, TestClient, int]:
    n = next(COUNTER)
    who = person(registry, f"页面申请人{n}", [])
    return who, sign_in(app, who), n


@pytest.fixture(scope="module")
def admin(app: FastAPI, registry: Registry) -> TestClient:
    return sign_in(app, person(registry, ADMIN, ["admin"]))


@pytest.fixture(scope="module")
def lab(app: FastAPI, registry: Registry) -> TestClient:
    return sign_in(app, person(registry, LAB, ["lab"]))


def admitted_consumer(
    app: FastAPI, registry: Registry, admin: TestClient
) -> tuple[TestClient, str]:
    who, browser, n = newcomer(app, registry)
    assert post(browser, "/admission", **applying(n)).status_code == 303
    made = registry.admissions_of(who.name)[-1]
    assert (
        post(
            admin, f"/admission/{made.id}/decision", decision="admit", reason="资质齐全"
        ).status_code
        == 303
    )
    return sign_in(app, who), made.entity_id  # a new role: sign in again


def test_an_application_with_a_bad_code_is_refused(app: FastAPI, registry: Registry) -> None:
    _, browser, n = newcomer(app, registry)
    bad = code(7000 + n)[:-1] + "X"
    answer = post(browser, "/admission", **applying(n, uscc=bad))
    assert answer.status_code == 409 and "USCC is not valid" in answer.text
    assert bad not in answer.text.replace(f'value="{bad}"', "")  # echoed nowhere but its input
    assert post(browser, "/admission", **applying(n)).status_code == 303
    assert "待审批" in browser.get("/admission").text


def test_the_queue_is_the_admins(
    app: FastAPI, registry: Registry, admin: TestClient, lab: TestClient
) -> None:
    who, browser, n = newcomer(app, registry)
    assert post(browser, "/admission", **applying(n)).status_code == 303
    made = registry.admissions_of(who.name)[-1]
    path = f"/admission/{made.id}/decision"
    assert post(lab, path, decision="admit", reason="ok").status_code == 403
    assert post(browser, path, decision="admit", reason="ok").status_code == 409  # the registry
    assert (
        admin.post(path, data={"decision": "admit", "reason": "ok"}).status_code == 403
    )  # no token
    assert post(admin, path, decision="refuse", reason="").status_code == 409
    assert (
        post(admin, "/admission/2000000/decision", decision="admit", reason="ok").status_code == 404
    )
    assert registry.admissions_of(who.name)[-1].status == "pending"
    assert who.name in admin.get("/admission").text
    assert post(admin, path, decision="refuse", reason="资质不全").status_code == 303
    assert registry.admissions_of(who.name)[-1].status == "refused"


def test_the_demand_form_offers_no_forbidden_field(
    app: FastAPI, registry: Registry, admin: TestClient
) -> None:
    consumer, entity = admitted_consumer(app, registry, admin)
    fields = consumer.get("/demands/fields", params={"scenario": "__new__"}).text
    assert "outpatient_visits.icd10_code" in fields and "patient_name" not in fields
    assert re.search(r"另有 \d+ 个字段禁止开放", fields)
    demand = {
        "consumer": entity, "scenario": "__new__", "new_scenario": f"scn_{entity}",
        "purpose": "理赔核验", "legal_basis": "授权运营协议",
        "valid_from": "2026-01-01", "valid_to": "2026-12-31",
    }  # fmt: skip
    posted = post(consumer, "/demands", **demand, fields=["outpatient_visits.patient_name"])
    assert posted.status_code == 409 and "may never be opened" in posted.text
    other, _ = admitted_consumer(app, registry, admin)
    assert post(other, "/demands", **demand, fields=["outpatient_visits.gender"]).status_code == 409
    assert post(admin, "/demands", **demand, fields=["outpatient_visits.gender"]).status_code == 403
    assert not [d for d in registry.demands() if d.consumer == entity]


def test_the_lab_approves_and_the_page_names_the_proposal(
    app: FastAPI, registry: Registry, admin: TestClient, lab: TestClient
) -> None:
    consumer, entity = admitted_consumer(app, registry, admin)
    demand = {
        "consumer": entity, "scenario": "__new__", "new_scenario": f"scn_{entity}",
        "purpose": "理赔核验", "legal_basis": "授权运营协议",
        "valid_from": "2026-01-01", "valid_to": "2026-12-31",
        "fields": ["outpatient_visits.gender", "outpatient_visits.icd10_code"],
    }  # fmt: skip
    assert post(consumer, "/demands", **demand).status_code == 303
    filed = [d for d in registry.demands() if d.consumer == entity][-1]
    path = f"/demands/{filed.id}/decision"
    assert post(consumer, path, decision="approve", comment="ok", plan="p").status_code == 403
    assert post(lab, path, decision="approve", comment="ok", plan="").status_code == 409
    answer = post(lab, path, decision="approve", comment="场景合理", plan="停止交付，通知销毁")
    assert answer.status_code == 303
    page = lab.get(answer.headers["location"]).text
    assert f"{filed.scenario}-demand-{filed.id}.yaml" in page and "控制台不写代码" in page
    decided = next(d for d in registry.demands() if d.id == filed.id)
    grant = registry.authorization(decided.authorization_id)
    assert (grant.consumer, grant.granted_by) == (entity, LAB)


def test_notices_on_home_only_for_their_roles(
    app: FastAPI, registry: Registry, admin: TestClient
) -> None:
    registry.sync_tickets(
        dataset="d", bureau="health", day="2025-06-28", stage="govern", run_id="page-notices",
        found={"rule": Finding("reason", 2, ["k***"])}, clean=False,
    )  # fmt: skip
    ticket = registry.tickets(bureau="health", status="open")[-1].id
    health = sign_in(app, person(registry, "卫健委页面", ["bureau:health"]))
    police = sign_in(app, person(registry, "公安页面", ["bureau:population"]))
    assert f"ticket/{ticket}" in health.get("/").text
    assert f"ticket/{ticket}" not in police.get("/").text
    assert f"ticket/{ticket}" not in admin.get("/").text
    who, browser, n = newcomer(app, registry)
    post(browser, "/admission", **applying(n))
    pending = registry.admissions_of(who.name)[-1].id
    assert f"admission/{pending}" in admin.get("/").text
    assert f"admission/{pending}" not in health.get("/").text


def test_the_loop_in_a_browser(app: FastAPI, registry: Registry, tmp_path: Path) -> None:
    """apply → the admin admits → a demand for a new scenario → the lab approves."""
    n = next(COUNTER)
    applicant = person(registry, f"浏览器申请人{n}", [])
    boss, reviewer = person(registry, ADMIN, ["admin"]), person(registry, LAB, ["lab"])
    entity = f"browser_entity_{n}"
    with live(app) as url, chromium() as browser:
        page = signed_in_page(browser, url, applicant)
        page.click("nav >> text=准入")
        for name, value in applying(n, entity_id=entity).items():
            if name != "commitments":
                page.fill(f"[name={name}]", value)
        page.check("[name=commitments]")
        screenshot(page, tmp_path, "console-admission-apply")
        page.click("button:has-text('提交申请')")
        page.wait_for_selector("text=准入申请已提交")
        admin = signed_in_page(browser, url, boss)
        admin.goto(f"{url}/admission")
        queued = admin.locator("tr", has_text=entity)
        queued.locator("[name=reason]").fill("资质齐全，承诺已签署")
        screenshot(admin, tmp_path, "console-admission-queue")
        queued.locator("button").click()
        admin.wait_for_selector("text=已准入")
        page = signed_in_page(browser, url, applicant)  # the new role ended the old session
        page.goto(f"{url}/demands")
        page.select_option("[name=scenario]", "__new__")
        page.wait_for_selector("text=新场景：字段取自")
        page.fill("[name=new_scenario]", f"scn_{entity}")
        page.fill("[name=purpose]", "商业健康保险理赔核验")
        page.fill("[name=legal_basis]", "公共数据授权运营协议")
        page.check("input[value='outpatient_visits.icd10_code']")
        page.check("input[value='outpatient_visits.gender']")
        screenshot(page, tmp_path, "console-demand-form")
        page.click("button:has-text('提交需求')")
        page.wait_for_selector("text=需求已提交")
        lab = signed_in_page(browser, url, reviewer)
        lab.wait_for_selector(f"text=场景 scn_{entity}")  # the home page's notification
        screenshot(lab, tmp_path, "console-home-notices")
        lab.goto(f"{url}/demands")
        row = lab.locator("tr", has_text=f"scn_{entity}")
        row.locator("[name=comment]").fill("场景合理，字段最小够用")
        row.locator("[name=plan]").fill("发生泄露：停止交付，通知销毁，报告监管")
        row.locator("button").click()
        lab.wait_for_selector("text=控制台不写代码")
        screenshot(lab, tmp_path, "console-demand-approved")
    approved = [d for d in registry.demands() if d.consumer == entity]
    assert [d.status for d in approved] == ["approved"]
    assert (registry.proposals_dir() / approved[0].proposal).is_file()
