"""A real browser (Debian's headless Chromium) on the live console, signed in with the session
of a test client: for screenshots of pages as people see them, under the strict CSP."""

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Page, sync_playwright

from ycpipelines.console.sessions import COOKIE

from people import live


@contextmanager
def browsing(app: FastAPI, signed_in: TestClient, width: int = 1400) -> Iterator[tuple[Page, str]]:
    """A page of the live app carrying `signed_in`'s session, and the app's base URL; the
    browser's console must log no error (a CSP violation is one) but the missing favicon."""
    errors: list[str] = []
    with live(app) as base, sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = chromium.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
        context.add_cookies([{"name": COOKIE, "value": signed_in.cookies[COOKIE], "url": base}])
        page = context.new_page()
        page.on("console", lambda m: errors.append(m) if m.type == "error" else None)
        yield page, base
        chromium.close()
    found = [f"{m.text} {m.location.get('url')}" for m in errors]
    assert [e for e in found if not e.endswith("/favicon.ico")] == [], found
