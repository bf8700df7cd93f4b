"""Signing in (登录): password, then the TOTP code (or its enrolment, or a required password
change); each step rotates the session, and the registry audits every success and failure."""

from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ycpipelines.console.context import App, Console
from ycpipelines.console.pages import render
from ycpipelines.console.sessions import (
    STAGE_PAGES,
    AwaitingCode,
    Enrolling,
    end_session,
    session_of,
    set_session,
    token_of,
)
from ycpipelines.registry.credentials import LoginRefused, Stage

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=256)]
ISSUER = "银川公共数据运营平台"


def moved(app: Console, token: str, stage: Stage) -> Response:
    """Go on to the page of `stage`, holding the (rotated) session `token`."""
    response = RedirectResponse(STAGE_PAGES[stage], status_code=303)
    set_session(response, token, app)
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    return render(request, "login.html")


@router.post("/login")
def login(request: Request, name: Text, password: Text, app: App) -> Response:
    """Password first; an earlier session of this browser ends, a new one starts (rotation)."""
    try:
        stage = app.registry.authenticate(name.strip(), password)
    except LoginRefused as refused:
        return render(request, "login.html", status=401, error=str(refused))
    if (old := token_of(request)) and session_of(request, app):
        app.registry.close_session(old)
    return moved(app, app.registry.open_session(name.strip(), stage), stage)


@router.get("/login/totp")
def totp_page(request: Request, _: AwaitingCode):
    return render(request, "totp.html")


@router.post("/login/totp")
def totp(
    request: Request,
    code: Annotated[str, Form(max_length=16)],
    found: AwaitingCode,
    app: App,
) -> Response:
    try:
        stage = app.registry.verify_totp(found.user, code.strip())
    except LoginRefused as refused:
        return render(request, "totp.html", status=401, error=str(refused))
    return moved(app, app.registry.advance_session(token_of(request), stage), stage)


@router.get("/login/enrol")
def enrol_page(
    request: Request,
    found: Enrolling,
    app: App,
) -> Response:
    """A new secret to add to an authenticator app, as a QR code and as text (绑定动态口令)."""
    secret = app.registry.begin_totp(found.user)
    uri = f"otpauth://totp/{ISSUER}:{found.user}?secret={secret}&issuer={ISSUER}"
    qr = segno.make(uri, error="m").svg_data_uri(scale=4)
    wrong = "验证码不正确，请用新的二维码重新绑定 (wrong code: scan the new QR code)"
    error = wrong if request.query_params.get("wrong") else None
    return render(request, "enrol.html", secret=secret, qr=qr, error=error)


@router.post("/login/enrol")
def enrol(
    request: Request,
    code: Annotated[str, Form(max_length=16)],
    found: Enrolling,
    app: App,
) -> Response:
    try:
        app.registry.confirm_totp(found.user, code.strip())
    except LoginRefused:  # a new secret to scan: the page never shows one twice
        return RedirectResponse("/login/enrol?wrong=1", status_code=303)
    return moved(app, app.registry.advance_session(token_of(request), Stage.FULL), Stage.FULL)


@router.post("/logout")
def logout(request: Request, app: App) -> Response:
    if token := token_of(request):
        app.registry.close_session(token)
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response
