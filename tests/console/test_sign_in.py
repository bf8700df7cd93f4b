"""Signing in to the console as GB/T 22239-2019 level 3 asks (登录): password, then TOTP for
privileged roles, lockout, rotation, logout, CSRF on every form, and every event audited."""

import re

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ycpipelines.console.app import create_app
from ycpipelines.console.sessions import COOKIE
from ycpipelines.foundation.settings import Settings
from ycpipelines.registry import Registry

from helpers import ADMIN, accounts
from people import CSRF, FIRST, PASSWORD, Person, client, form_token, person, routes, sign_in


@pytest.fixture(scope="module")
def reviewer(registry: Registry) -> Person:
    person(registry, ADMIN, ["admin"])
    return person(registry, "审核员甲", ["reviewer"])


def post_login(browser: TestClient, name: str, password: str):
    token = form_token(browser, "/login")
    return browser.post("/login", data={"name": name, "password": password, "csrf": token})


def test_a_reviewer_needs_password_and_totp_and_each_step_rotates_the_session(
    app: FastAPI, registry: Registry, reviewer: Person
) -> None:
    browser = client(app)
    browser.cookies.set(COOKIE, "planted-by-an-attacker", domain="127.0.0.1", path="/")
    answer = post_login(browser, reviewer.name, reviewer.password)
    assert answer.headers["location"] == "/login/totp"
    halfway = browser.cookies[COOKIE]
    assert halfway != "planted-by-an-attacker"
    assert browser.get("/").headers["location"] == "/login/totp"  # not signed in yet
    token = form_token(browser, "/login/totp")
    answer = browser.post("/login/totp", data={"code": reviewer.code(), "csrf": token})
    assert answer.headers["location"] == "/"
    signed = browser.cookies[COOKIE]
    assert signed != halfway and registry.console_session(halfway) is None
    home = browser.get("/")
    assert home.status_code == 200 and reviewer.name in home.text and "出域审核" in home.text
    assert [e.action for e in registry.history(f"user/{reviewer.name}")][-1] == "login.succeeded"


def test_a_wrong_code_or_password_is_refused_alike_and_audited(
    app: FastAPI, registry: Registry, reviewer: Person
) -> None:
    browser = client(app)
    wrong = post_login(browser, reviewer.name, "Not-the-password-1!")
    unknown = post_login(client(app), "无此人", "Not-the-password-1!")
    assert wrong.status_code == unknown.status_code == 401
    assert "Not-the-password" not in wrong.text
    post_login(browser, reviewer.name, reviewer.password)
    token = form_token(browser, "/login/totp")
    bad = pyotp.TOTP(pyotp.random_base32()).now()
    assert browser.post("/login/totp", data={"code": bad, "csrf": token}).status_code == 401
    actions = [e.action for e in registry.history(f"user/{reviewer.name}")]
    assert actions.count("login.failed") >= 2


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    app: FastAPI, registry: Registry
) -> None:
    victim = person(registry, "顾客乙", ["consumer:lockme"])
    for _ in range(Settings().console_lockout_failures):
        assert post_login(client(app), victim.name, "Wrong-password-123!").status_code == 401
    locked = post_login(client(app), victim.name, victim.password)
    assert locked.status_code == 401
    assert "login.locked" in [e.action for e in registry.history(f"user/{victim.name}")]


def test_an_initial_password_must_be_changed_then_the_second_factor_enrolled(
    app: FastAPI, registry: Registry, reviewer: Person
) -> None:
    person(registry, ADMIN, ["admin"])
    accounts(registry, {"新监管员": ["supervisor"]})
    registry.set_password("新监管员", FIRST, ADMIN)
    browser = client(app)
    assert post_login(browser, "新监管员", FIRST).headers["location"] == "/password"
    token = form_token(browser, "/password")
    weak = {"old": FIRST, "new": "short", "again": "short", "csrf": token}
    assert browser.post("/password", data=weak).status_code == 400
    fine = {"old": FIRST, "new": PASSWORD, "again": PASSWORD, "csrf": token}
    assert browser.post("/password", data=fine).headers["location"] == "/login/enrol"
    first = browser.get("/login/enrol")  # once: every visit shows a new secret
    token = CSRF.search(first.text).group(1)
    wrong = pyotp.TOTP(pyotp.random_base32()).now()
    answer = browser.post("/login/enrol", data={"code": wrong, "csrf": token})
    assert answer.headers["location"] == "/login/enrol?wrong=1"
    page = browser.get(answer.headers["location"])  # a new secret to scan, and why
    assert (
        page.status_code == 200
        and "data:image/svg+xml" in page.text
        and "验证码不正确" in page.text
    )
    secret = page.text.split('class="mono secret">')[1].split("<")[0].strip()
    assert secret and secret not in first.text
    token = CSRF.search(page.text).group(1)
    code = pyotp.TOTP(secret).now()
    assert browser.post("/login/enrol", data={"code": code, "csrf": token}).status_code == 303
    assert browser.get("/").status_code == 200


def test_a_signed_in_password_change_keeps_the_person_signed_in_and_ends_the_old_session(
    app: FastAPI, registry: Registry
) -> None:
    changer = person(registry, "换密码的顾客", ["consumer:changer"])
    browser = sign_in(app, changer)
    old = browser.cookies[COOKIE]
    token = form_token(browser, "/password")
    new = "Another-pilot-pass-26!"
    sent = {"old": changer.password, "new": new, "again": new, "csrf": token}
    assert browser.post("/password", data=sent).headers["location"] == "/?changed=1"
    assert browser.cookies[COOKIE] != old and registry.console_session(old) is None
    assert "密码已修改" in browser.get("/?changed=1").text
    changer.password = new


def test_an_id_beyond_the_registry_s_keys_is_a_clear_refusal_not_an_error(
    app: FastAPI, reviewer: Person
) -> None:
    browser = sign_in(app, reviewer)
    for path in ("/desk/99999999999999999999999", "/desk/2147483648/form.pdf"):
        assert browser.get(path).status_code == 422, path
    huge = "/admin/authorizations?done=revoked&id=99999999999999999999999"
    assert browser.get(huge).status_code in (200, 403)


def test_logout_ends_the_session_on_the_server(
    app: FastAPI, registry: Registry, reviewer: Person
) -> None:
    browser = sign_in(app, reviewer)
    token, cookie = form_token(browser, "/"), browser.cookies[COOKIE]
    assert browser.post("/logout", data={"csrf": token}).headers["location"] == "/login"
    assert registry.console_session(cookie) is None
    replayed = client(app)
    replayed.cookies.set(COOKIE, cookie)
    assert replayed.get("/").headers["location"] == "/login"


def test_every_post_without_its_csrf_token_is_forbidden(app: FastAPI, reviewer: Person) -> None:
    browser = sign_in(app, reviewer)
    posts = sorted({path for path, methods in routes(app) if "POST" in methods} - {"/login"})
    assert "/logout" in posts
    for path in posts:
        answer = browser.post(re.sub(r"\{[^}]+\}", "1", path), data={"comment": "x"})
        assert answer.status_code == 403, (path, answer.status_code)
    forged = {"csrf": "forged-token"}
    assert browser.post("/logout", data=forged).status_code == 403
    assert post_without_token_is_forbidden(client(app))


def post_without_token_is_forbidden(browser: TestClient) -> bool:
    form_token(browser, "/login")  # the visitor has the cookie, but the form lacks the token
    return browser.post("/login", data={"name": "x", "password": "y"}).status_code == 403


def test_pages_carry_security_headers_and_are_not_cached(app: FastAPI, reviewer: Person) -> None:
    page = sign_in(app, reviewer).get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"


def test_an_unexpected_error_shows_an_incident_number_not_its_message(
    registry: Registry,
) -> None:
    settings = Settings()
    broken = create_app(settings, registry)

    @broken.get("/boom")
    def boom() -> None:
        raise ValueError("640104199001011234 张三")

    page = client(broken).get("/boom")
    assert page.status_code == 500 and "事件编号" in page.text
    assert "640104199001011234" not in page.text and "张三" not in page.text


def test_a_planted_csrf_cookie_never_reaches_a_page(app: FastAPI) -> None:
    """A visitor cookie not of the console's own making is replaced, not echoed into the page's
    form or htmx headers."""
    browser = client(app)
    planted = 'x", "HX-Trigger": "evil'
    browser.cookies.set("ycp_csrf", planted, domain="127.0.0.1", path="/")
    page = browser.get("/login")
    assert "evil" not in page.text and "HX-Trigger" not in page.text
    assert page.cookies.get("ycp_csrf") not in (None, planted)
