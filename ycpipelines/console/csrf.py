"""CSRF tokens (跨站请求伪造防护) on every form and every unsafe request: the session's token,
or before sign-in a random cookie the sign-in form repeats; a request without it gets 403."""

import hmac
import re
import secrets

from fastapi import HTTPException, Request

from ycpipelines.console.context import App, Console
from ycpipelines.console.sessions import SignInNeeded, session_of

PRE = "ycp_csrf"  # the anonymous token of the sign-in form (double submit)
HEADER = "x-csrf-token"  # what htmx sends (hx-headers on <body>)
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN = frozenset({"/login"})
# The proxied Dagster UI posts without the token; its proxy (dagster_proxy) requires the
# console's own Origin on unsafe requests instead.
PROXIED = ("/dagster/", "/dagster-audit/")
TOKEN = re.compile(
    r"[A-Za-z0-9_-]{43}"
)  # secrets.token_urlsafe(32)  # the only unsafe path a visitor without a session may post to


def form_token(request: Request, app: Console) -> str:
    """The token this page's forms carry: the session's, else the visitor's cookie (made here
    when absent and set on the response by `render`)."""
    found = session_of(request, app)
    if found is not None:
        return found.csrf
    token = request.cookies.get(PRE, "")
    if not TOKEN.fullmatch(token):  # only a token this console made goes into a page
        token = request.state.new_pre = secrets.token_urlsafe(32)
    return token


async def sent_token(request: Request) -> str:
    if token := request.headers.get(HEADER):
        return token
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf")
        return value if isinstance(value, str) else ""
    return ""


async def csrf_guard(request: Request, app: App) -> None:
    """Every unsafe request needs a session (or is the sign-in form) and its CSRF token."""
    if request.method in SAFE or request.url.path.startswith(PROXIED):
        return
    found = session_of(request, app)
    if found is None and request.url.path not in OPEN:
        raise SignInNeeded()
    expected = found.csrf if found is not None else request.cookies.get(PRE, "")
    sent = await sent_token(request)
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(
            403, "CSRF 校验失败：表单缺少或带错了令牌 (CSRF token missing or wrong)"
        )
