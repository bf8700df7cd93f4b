"""The admin's pages (账户与角色, 授权与预案) attacked: other roles posting the admin's forms, the
supervisor's read-only view, a weak initial password, refused grants and changes shown in the
registry's words, and a grant then a revocation that the registry records."""

import html
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.settings import Settings
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.credentials import LoginRefused, Stage
from ycpipelines.registry.passwords import check_policy

from helpers import ADMIN, screenshot
from people import FIRST, Person, form_token, person, sign_in
from screens import browsing

SUPERVISOR, CONSUMER = "孙监管", "丙保险"
TODAY = pilot_today()


@pytest.fixture(scope="module")
def admin(app: FastAPI, registry: Registry) -> TestClient:
    return sign_in(app, person(registry, ADMIN, ["admin"]))


@pytest.fixture(scope="module")
def supervisor(app: FastAPI, registry: Registry) -> TestClient:
    return sign_in(app, person(registry, SUPERVISOR, ["supervisor"]))


@pytest.fixture(scope="module")
def consumer(app: FastAPI, registry: Registry) -> TestClient:
    return sign_in(app, person(registry, CONSUMER, ["consumer:insurer_c"]))


def post(browser: TestClient, path: str, **data: object):
    """A form posted with the page's token."""
    return browser.post(path, data={"csrf": form_token(browser, "/"), **data})


def grant_form(consumer: str, **changed: object) -> dict:
    form = {
        "consumer": consumer,
        "scenario": "disease_stats",
        "fields": ["visits", "month"],
        "valid_from": str(TODAY),
        "valid_to": str(TODAY + timedelta(days=90)),
        "plan": f"预案-{consumer}：停止交付，通知销毁，报告监管",
        "epsilon": "",
    }
    return form | changed


def refusal(answer) -> str:
    assert answer.status_code == 409, answer.text
    return html.unescape(answer.text)


def test_other_roles_posting_the_admin_forms_are_forbidden(
    registry: Registry, supervisor: TestClient, consumer: TestClient
) -> None:
    target = registry.grant(
        consumer="insurer_x", scenario="disease_stats", fields=["visits"], plan="预案-x",
        valid_from=TODAY, valid_to=TODAY + timedelta(days=9), actor=ADMIN,
    )  # fmt: skip
    forms = {
        "/admin/users": {"name": "偷建账户", "password": FIRST, "roles": "admin"},
        "/admin/users/roles": {"name": CONSUMER, "role": "admin", "op": "add"},
        "/admin/users/password": {"name": ADMIN, "password": FIRST},
        "/admin/authorizations": grant_form("insurer_x"),
        f"/admin/authorizations/{target.id}/status": {"status": "revoked", "reason": "x"},
    }
    for browser in (supervisor, consumer):
        for path, data in forms.items():
            assert post(browser, path, **data).status_code == 403, path
    assert consumer.get("/admin/users").status_code == 403
    assert consumer.get("/admin/authorizations").status_code == 403
    assert supervisor.get("/admin/authorizations/fields?scenario=disease_stats").status_code == 403
    assert registry.user("偷建账户") is None and "admin" not in registry.verified_roles(CONSUMER)
    assert [(a.id, a.status) for a in registry.authorizations(consumer="insurer_x")] == [
        (target.id, "active")
    ]
    admin_entries = [e.action for e in registry.history(f"user/{ADMIN}")]
    assert admin_entries.count("user.password_set") == 1  # the test person's, none by the forms


def test_the_supervisor_reads_both_lists_without_a_form(
    registry: Registry, supervisor: TestClient
) -> None:
    registry.grant(
        consumer="insurer_s", scenario="disease_stats", fields=["visits"], plan="预案-供监管查看",
        valid_from=TODAY, valid_to=TODAY + timedelta(days=9), actor=ADMIN,
    )  # fmt: skip
    users = supervisor.get("/admin/users")
    grants = supervisor.get("/admin/authorizations")
    assert users.status_code == grants.status_code == 200
    assert SUPERVISOR in users.text and ADMIN in users.text and "✓ 一致" in users.text
    assert "预案-供监管查看" in grants.text and "insurer_s" in grants.text
    for page in (users, grants):
        assert page.text.count("<form") == 1 and 'action="/logout"' in page.text  # sign-out only
        assert 'action="/admin' not in page.text and "只读" in page.text


def test_an_account_made_on_the_page_must_change_its_initial_password(
    registry: Registry, admin: TestClient
) -> None:
    made = post(
        admin, "/admin/users", name="新审核员", password=FIRST, roles=["reviewer"],
        scoped="consumer:insurer_n, bureau:health",
    )  # fmt: skip
    assert made.status_code == 303 and made.headers["location"] == "/admin/users?done=created"
    wanted = {"reviewer", "consumer:insurer_n", "bureau:health"}
    assert registry.verified_roles("新审核员") == wanted
    assert registry.authenticate("新审核员", FIRST) == Stage.CHANGE
    [entry] = [e for e in registry.history("user/新审核员") if e.action == "user.password_set"]
    assert entry.actor == ADMIN and entry.detail == {"by": "admin", "must_change": True}
    page = admin.get("/admin/users?done=created")
    assert "账户已创建" in page.text and "待本人修改" in page.text
    assert FIRST not in page.text
    again = refusal(post(admin, "/admin/users", name="新审核员", password=FIRST))
    assert "exists already" in again


def test_a_weak_initial_password_shows_the_registry_s_policy_and_makes_nothing(
    registry: Registry, admin: TestClient
) -> None:
    with pytest.raises(RegistryError) as policy:
        check_policy("弱口令者", "short")
    answer = refusal(post(admin, "/admin/users", name="弱口令者", password="short"))
    assert str(policy.value) in answer and "short" not in answer.replace(str(policy.value), "")
    assert registry.user("弱口令者") is None
    reset = refusal(post(admin, "/admin/users/password", name=CONSUMER, password="alllowercase1"))
    assert "the password is refused" in reset


def test_roles_are_granted_and_taken_on_the_page_and_an_unknown_one_refused(
    registry: Registry, admin: TestClient
) -> None:
    person(registry, "丁保险", ["consumer:insurer_d"])
    added = post(admin, "/admin/users/roles", name="丁保险", role="bureau:health", op="add")
    assert added.status_code == 303
    assert registry.verified_roles("丁保险") == {"consumer:insurer_d", "bureau:health"}
    taken = post(admin, "/admin/users/roles", name="丁保险", role="consumer:insurer_d", op="remove")
    assert taken.status_code == 303 and registry.verified_roles("丁保险") == {"bureau:health"}
    unknown = refusal(post(admin, "/admin/users/roles", name="丁保险", role="wizard", op="add"))
    assert "unknown role" in unknown
    nobody = refusal(post(admin, "/admin/users/roles", name="无此人", role="lab", op="add"))
    assert "no account" in nobody and registry.user("无此人") is None


def test_an_admin_cannot_make_themselves_or_anyone_a_reviewer_as_well(
    registry: Registry, admin: TestClient
) -> None:
    """Separation of duties: whoever grants authorizations never approves deliveries."""
    own = refusal(post(admin, "/admin/users/roles", name=ADMIN, role="reviewer", op="add"))
    assert "their own roles" in own and "reviewer" not in registry.verified_roles(ADMIN)
    person(registry, "己管理", ["admin"])
    both = refusal(post(admin, "/admin/users/roles", name="己管理", role="reviewer", op="add"))
    assert "separation of duties" in both
    assert registry.verified_roles("己管理") == {"admin"}


def test_a_password_reset_on_the_page_lifts_a_lock(registry: Registry, admin: TestClient) -> None:
    locked: Person = person(registry, "戊保险", ["consumer:insurer_e"])
    for _ in range(Settings().console_lockout_failures):
        with pytest.raises(LoginRefused):
            registry.authenticate(locked.name, "Wrong-password-123!")
    assert registry.sign_in_state(locked.name).locked_until is not None
    assert "锁定至" in admin.get("/admin/users").text
    reset = post(admin, "/admin/users/password", name=locked.name, password=FIRST)
    assert reset.status_code == 303
    state = registry.sign_in_state(locked.name)
    assert state.locked_until is None and state.must_change
    assert registry.authenticate(locked.name, FIRST) == Stage.CHANGE


def test_a_grant_then_a_revocation_on_the_pages_is_what_the_registry_records(
    registry: Registry, admin: TestClient
) -> None:
    granted = post(admin, "/admin/authorizations", **grant_form("insurer_g", epsilon="0.5"))
    assert granted.status_code == 303
    [grant] = registry.authorizations(consumer="insurer_g")
    assert granted.headers["location"] == f"/admin/authorizations?done=granted&id={grant.id}"
    assert (grant.scenario, grant.fields, grant.status) == (
        "disease_stats",
        ["month", "visits"],
        "active",
    )
    assert (grant.granted_by, grant.epsilon, grant.valid_from) == (ADMIN, 0.5, TODAY)
    assert grant.plan == "预案-insurer_g：停止交付，通知销毁，报告监管"
    path = f"/admin/authorizations/{grant.id}/status"
    assert post(admin, path, status="suspended", reason="核查使用情况").status_code == 303
    assert registry.authorization(grant.id).status == "suspended"
    revoked = post(admin, path, status="revoked", reason="违规转售")
    assert revoked.status_code == 303
    assert registry.authorization(grant.id).status == "revoked"
    audited = [
        (e.action, e.detail.get("reason")) for e in registry.history(f"authorization/{grant.id}")
    ]
    assert audited == [
        ("auth.granted", None),
        ("auth.suspended", "核查使用情况"),
        ("auth.revoked", "违规转售"),
    ]
    page = admin.get(revoked.headers["location"])
    assert "已撤回" in page.text and grant.plan in page.text  # the 预案 to carry out


def test_refused_grants_and_changes_are_shown_in_the_registry_s_words(
    registry: Registry, admin: TestClient
) -> None:
    cases = {
        "contingency plan": grant_form("insurer_r", plan="   "),
        "is not a consumer id": grant_form("Insurer/R"),
        "is before valid_from": grant_form("insurer_r", valid_to=str(TODAY - timedelta(days=1))),
        "are not in disease_stats": grant_form("insurer_r", fields=["visits", "person_pid"]),
        "at least one field": grant_form("insurer_r", fields=[]),
        "no product": grant_form("insurer_r", scenario="raw/population"),
        "positive number": grant_form("insurer_r", epsilon="-1"),
    }
    for words, form in cases.items():
        assert words in refusal(post(admin, "/admin/authorizations", **form)), words
    assert registry.authorizations(consumer="insurer_r") == []
    post(admin, "/admin/authorizations", **grant_form("insurer_r"))
    [grant] = registry.authorizations(consumer="insurer_r")
    path = f"/admin/authorizations/{grant.id}/status"
    assert "cannot set active" in refusal(post(admin, path, status="active", reason="恢复"))
    assert "needs a reason" in refusal(post(admin, path, status="revoked", reason=" "))
    assert registry.authorization(grant.id).status == "active"


def test_the_grant_form_offers_the_chosen_product_s_fields(admin: TestClient) -> None:
    fields = admin.get("/admin/authorizations/fields?scenario=disease_stats").text
    assert 'value="icd10_chapter"' in fields and 'value="person_pid"' not in fields
    page = admin.get("/admin/authorizations?scenario=underwriting_features").text
    assert 'value="has_diabetes"' in page and "职责分离" in page and "授权人不得审核" in page


def test_the_authorizations_page_in_a_browser(
    app: FastAPI, registry: Registry, admin: TestClient, tmp_path
) -> None:
    post(admin, "/admin/authorizations", **grant_form("insurer_b"))
    with browsing(app, admin) as (page, base):
        page.goto(f"{base}/admin/authorizations")
        page.select_option("select[name=scenario]", "claims_verification")
        page.wait_for_selector("#grant-fields input[value=settlement_pid]")
        assert page.locator("#grant-fields input[value=visits]").count() == 0
        screenshot(page, tmp_path, "console-admin-authorizations")
