"""Changing one's password (修改密码): required at first sign-in and after expiry, open to every
signed-in account; the registry applies the password policy."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ycpipelines.console.context import App
from ycpipelines.console.pages import render
from ycpipelines.console.sessions import (
    STAGE_PAGES,
    SignInNeeded,
    session_of,
    set_session,
    token_of,
    viewer,
)
from ycpipelines.registry import RegistryError
from ycpipelines.registry.credentials import ConsoleSessionView, Stage

router = APIRouter(include_in_schema=False)
Secret = Annotated[str, Form(max_length=256)]


def changing(request: Request, app: App) -> ConsoleSessionView:
    """A session that must change its password, or a signed-in one."""
    found = session_of(request, app)
    if found is None:
        raise SignInNeeded()
    if found.stage == Stage.FULL:
        viewer(request, app)
    elif found.stage != Stage.CHANGE:
        raise SignInNeeded(STAGE_PAGES[found.stage])
    return found


Changing = Annotated[ConsoleSessionView, Depends(changing)]


@router.get("/password")
def password_page(request: Request, found: Changing) -> Response:
    return render(request, "password.html", forced=found.stage == Stage.CHANGE)


@router.post("/password")
def change(
    request: Request,
    old: Secret,
    new: Secret,
    again: Secret,
    found: Changing,
    app: App,
) -> Response:
    forced = found.stage == Stage.CHANGE
    try:
        if new != again:
            raise RegistryError("两次输入的新密码不一致 (the new passwords differ)")
        app.registry.change_password(found.user, old, new)
    except RegistryError as refused:
        return render(request, "password.html", status=400, error=str(refused), forced=forced)
    if forced:  # the session that made the change goes on to the next step
        stage = app.registry.stage_after_password(found.user)
        token = app.registry.advance_session(token_of(request), stage)
        response = RedirectResponse(STAGE_PAGES[stage], 303)
    else:  # a new password ends every earlier session, this one too: a new one begins
        token = app.registry.open_session(found.user, Stage.FULL)
        response = RedirectResponse("/?changed=1", 303)
    set_session(response, token, app)
    return response
