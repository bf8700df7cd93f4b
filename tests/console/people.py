"""The console's test people: accounts with passwords and second factors made through the
registry's own rules, a client per browser, signing in through the pages, a live server."""

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyotp
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ycpipelines.ops.serve import free_port
from ycpipelines.registry import Registry

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

from helpers import ADMIN, accounts

PASSWORD = "Yinchuan-pilot-2025!"  # meets the policy; every test person's after first sign-in
FIRST = "First-time-pass-2025!"  # the initial password an admin sets
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Person:
    """A test account: its roles, password and (for privileged roles) TOTP secret."""

    name: str
    roles: list[str]
    secret: str | None = None
    password: str = PASSWORD
    used: set[int] = field(default_factory=set)

    def code(self) -> str:
        """A TOTP code of a step not used yet (the registry refuses a replayed step); waits for
        the next step when this one and the next were used."""
        totp = pyotp.TOTP(self.secret or "")
        while True:
            now = int(time.time()) // 30
            step = next((s for s in (now, now + 1) if s not in self.used), None)
            if step is not None:
                self.used.add(step)
                return totp.at(step * 30)
            time.sleep(1)


MADE: dict[tuple[str, str], Person] = {}


def person(registry: Registry, name: str, roles: list[str]) -> Person:
    """An account granted `roles` by the admin, its initial password changed and, when its
    roles need one, its TOTP enrolled: as a real person's first sign-in leaves it. Made once per
    registry; later calls return the same person."""
    if (registry.url, name) in MADE:
        return MADE[registry.url, name]
    if name != ADMIN:
        person(registry, ADMIN, ["admin"])
        accounts(registry, {name: roles})
    elif registry.user(ADMIN) is None:
        accounts(registry, {})
    registry.set_password(name, FIRST, ADMIN)
    registry.change_password(name, FIRST, PASSWORD)
    found = MADE[registry.url, name] = Person(name, roles)
    if registry.needs_totp(name):
        found.secret = registry.begin_totp(name)
        registry.confirm_totp(name, found.code())
    return found


def client(app: FastAPI) -> TestClient:
    """A browser of its own (cookies), which does not follow redirects."""
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)


def form_token(browser: TestClient, path: str) -> str:
    """The CSRF token the page at `path` puts in its forms."""
    page = browser.get(path)
    found = CSRF.search(page.text)
    assert found, f"no form token on {path} ({page.status_code})"
    return found.group(1)


def sign_in(app: FastAPI, who: Person) -> TestClient:
    """A client signed in as `who` through the pages: password, then TOTP if its roles need it."""
    browser = client(app)
    token = form_token(browser, "/login")
    answer = browser.post(
        "/login", data={"name": who.name, "password": who.password, "csrf": token}
    )
    assert answer.status_code == 303, answer.text
    if answer.headers["location"] == "/login/totp":
        token = form_token(browser, "/login/totp")
        answer = browser.post("/login/totp", data={"code": who.code(), "csrf": token})
        assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/"
    return browser


@contextmanager
def live(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, for a real browser."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def routes(app: FastAPI) -> list[tuple[str, set[str]]]:
    """Every route's path and methods, through the routers the app includes."""
    found, todo = [], list(app.routes)
    while todo:
        route = todo.pop()
        if inner := getattr(route, "original_router", None):
            todo += inner.routes
        elif methods := getattr(route, "methods", None):
            found.append((route.path, set(methods)))
    return found


@contextmanager
def chromium() -> Iterator["Browser"]:
    """Debian's headless chromium through Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def signed_in_page(browser: "Browser", url: str, who: Person) -> "Page":
    """A page of a new browser context, signed in as `who` through the sign-in pages."""
    page = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=name]", who.name)
    page.fill("input[name=password]", who.password)
    page.click("button[type=submit]")
    if page.url.endswith("/login/totp"):
        page.fill("input[name=code]", who.code())
        page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    return page
