"""Refusals as pages or JSON (错误页): 401 to sign in, 403, 404 for what is not the viewer's,
409 for a registry rule; an unexpected error shows an incident number, never its message."""

import logging
import traceback
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from ycpipelines.console.pages import render
from ycpipelines.console.sessions import SignInNeeded, end_session
from ycpipelines.registry import NotFound, RegistryError
from ycpipelines.registry.credentials import LoginRefused

log = logging.getLogger("ycpipelines.console")
TITLES = {401: "请先登录", 403: "无权限", 404: "未找到", 409: "不符合规则", 422: "输入有误"}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def refusal(request: Request, status: int, message: str) -> Response:
    if is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    title = TITLES.get(status, "出错了")
    return render(request, "error.html", status=status, title=title, message=message)


async def sign_in(request: Request, error: SignInNeeded) -> Response:
    if is_api(request):
        return JSONResponse({"detail": "未登录 (sign in first)"}, status_code=401)
    return RedirectResponse(error.where, status_code=303)


async def http_error(request: Request, error: HTTPException) -> Response:
    return refusal(request, error.status_code, str(error.detail))


async def not_found(request: Request, error: NotFound) -> Response:
    return refusal(request, 404, "未找到，或不属于您 (not found)")


async def session_ended(request: Request, error: LoginRefused) -> Response:
    """A sign-in step refused after its check (the session ended meanwhile): sign in again."""
    if is_api(request):
        return JSONResponse({"detail": "未登录 (sign in first)"}, status_code=401)
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response


async def rule(request: Request, error: RegistryError) -> Response:
    return refusal(request, 409, str(error))


async def invalid(request: Request, error: RequestValidationError) -> Response:
    """Which fields were wrong, never the values sent."""
    wrong = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors())
    return refusal(request, 422, f"输入有误 (invalid input): {wrong}")


async def unexpected(request: Request, error: Exception) -> Response:
    """A 500 with an incident number; the log keeps the frames, not the message (it may hold a
    value)."""
    incident = uuid.uuid4().hex[:12]
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("incident %s: %s at\n%s", incident, type(error).__name__, frames)
    return refusal(request, 500, f"服务器内部错误，事件编号 {incident} (internal error)")


def install(app: FastAPI) -> None:
    app.add_exception_handler(SignInNeeded, sign_in)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(LoginRefused, session_ended)
    app.add_exception_handler(RegistryError, rule)
    app.add_exception_handler(RequestValidationError, invalid)
