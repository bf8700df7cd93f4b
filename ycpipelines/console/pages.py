"""Rendering a page (页面): the template with the viewer, its navigation and the form token."""

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ycpipelines.console.context import Console
from ycpipelines.console.csrf import PRE, form_token
from ycpipelines.console.sessions import Viewer, secure_cookies
from ycpipelines.registry.errors import NotFound, RegistryError

# (path, label, roles that see it; "consumer:" and "bureau:" mean any scoped role of that kind,
# "-" an account with no roles yet)
NAV = (
    ("/", "首页", None),
    ("/desk", "审核台", ("reviewer", "supervisor")),
    ("/deliveries", "我的交付", ("consumer:",)),
    ("/admin/users", "账户与角色", ("admin", "supervisor")),
    ("/admin/authorizations", "授权与预案", ("admin", "supervisor")),
    ("/password", "修改密码", None),
    ("/admission", "准入", ("admin", "-")),
    ("/demands", "供需对接", ("consumer:", "lab", "reviewer")),
    ("/bureau", "数源部门", ("bureau:",)),
    ("/bureau/tickets", "问题工单", ("admin", "operator", "supervisor")),
    ("/audit", "审计日志", ("admin", "supervisor")),
    ("/supervision/deliveries", "交付与撤回", ("admin", "supervisor")),
    ("/settlements", "收益分配", ("admin", "supervisor")),
    ("/lineage", "血缘", ("admin", "supervisor")),
    ("/resources", "资源图谱", ("admin", "supervisor")),
    ("/dagster/", "Dagster 运维界面", ("operator",)),
    ("/dagster-audit/", "Dagster 只读界面", ("supervisor",)),
)


def nav(viewer: Viewer | None) -> list[tuple[str, str]]:
    """The links the viewer's roles open."""
    if viewer is None:
        return []

    def holds(role: str) -> bool:
        if role == "-":
            return not viewer.roles
        return bool(viewer.scoped(role[:-1])) if role.endswith(":") else viewer.has(role)

    def sees(roles: tuple[str, ...] | None) -> bool:
        return roles is None or any(holds(r) for r in roles)

    return [(path, label) for path, label, roles in NAV if sees(roles)]


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The template `name` for this request's viewer, with the CSRF token its forms carry."""
    app: Console = request.app.state.console
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    csrf = viewer.csrf if viewer else form_token(request, app)
    response = app.templates.TemplateResponse(
        request,
        name,
        {"viewer": viewer, "csrf": csrf, "nav": nav(viewer), "path": request.url.path, **context},
        status_code=status,
    )
    if new := getattr(request.state, "new_pre", None):
        response.set_cookie(PRE, new, httponly=True, samesite="strict", secure=secure_cookies(app))
    return response


def acted(action: Callable[[], str], refused: Callable[..., Response]) -> Response:
    """A form's step: on to the page `action` names (303); a refusal of the registry shown on
    `refused`'s page in its own words (409); another party's object stays a 404."""
    try:
        where = action()
    except NotFound:
        raise
    except RegistryError as refusal:
        return refused(status=409, error=str(refusal))
    return RedirectResponse(where, status_code=303)


def then(action: Callable[[], object], where: str) -> Callable[[], str]:
    """`action` as a form step whose next page is known beforehand (`where`)."""

    def step() -> str:
        action()
        return where

    return step
