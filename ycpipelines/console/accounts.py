"""Accounts and roles (账户与角色) for the admin, read-only for the supervisor: each account's
roles and whether the audit chain vouches for them, its sign-in state, and the admin's forms to
create an account with an initial password, add or remove a role, and reset a password (which
also lifts a lock). The new or reset password must be changed at the next sign-in."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from ycpipelines.console import pages
from ycpipelines.console.context import App, Console
from ycpipelines.console.pages import render, then
from ycpipelines.console.roles import LABELS, needs
from ycpipelines.console.sessions import Viewer
from ycpipelines.registry import RegistryError
from ycpipelines.registry.credentials import SignInState
from ycpipelines.registry.identity import PLAIN_ROLES
from ycpipelines.registry.models import User
from ycpipelines.registry.passwords import check_policy

router = APIRouter(include_in_schema=False)
Admin = Annotated[Viewer, needs("admin")]
Overseer = Annotated[Viewer, needs("admin", "supervisor")]
Name = Annotated[str, Form(min_length=1, max_length=64)]
Secret = Annotated[str, Form(max_length=256)]
PAGE = "/admin/users"
DONE = {
    "created": "账户已创建，初始密码已设置：首次登录时须修改。",
    "added": "已授予角色，并记入审计链。",
    "removed": "已收回角色，并记入审计链。",
    "password": "已重置初始密码并解除锁定：下次登录时须修改。",
}


@dataclass(frozen=True)
class AccountRow:
    """An account as the admin sees it: roles, whether the chain vouches for them, sign-in."""

    user: User
    vouched: bool
    state: SignInState


def account_rows(app: Console) -> list[AccountRow]:
    registry = app.registry
    return [
        AccountRow(
            user=u,
            vouched=bool(u.roles) and registry.verified_roles(u.name) == set(u.roles),
            state=registry.sign_in_state(u.name),
        )
        for u in registry.users()
    ]


def users_page(
    request: Request, app: Console, seen: Viewer, status: int = 200, **context: object
) -> Response:
    rows = account_rows(app)
    held = sorted({r for row in rows for r in row.user.roles} | set(PLAIN_ROLES))
    return render(
        request,
        "admin_users.html",
        status=status,
        rows=rows,
        acting=seen.has("admin"),
        plain=[(r, LABELS[r]) for r in PLAIN_ROLES],
        held=held,
        done=DONE.get(request.query_params.get("done", "")),
        **context,
    )


def acted(
    request: Request, app: Console, seen: Viewer, action: Callable[[], object], done: str
) -> Response:
    """Run an admin's action; the registry's refusal is shown on the page, else back to it."""
    return pages.acted(then(action, f"{PAGE}?done={done}"), partial(users_page, request, app, seen))


def scoped_roles(text: str) -> list[str]:
    """The roles typed as `consumer:<id>` or `bureau:<id>`, separated by spaces or commas."""
    return [r for r in re.split(r"[\s,，、;；]+", text) if r]


@router.get(PAGE)
def users(request: Request, seen: Overseer, app: App) -> Response:
    return users_page(request, app, seen)


@router.post(PAGE)
def create(
    request: Request,
    seen: Admin,
    app: App,
    name: Name,
    password: Secret,
    roles: Annotated[list[str] | None, Form()] = None,
    scoped: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """A new account with its roles and an initial password (checked first: a refused
    password creates nothing)."""
    name = name.strip()

    def create_account() -> None:
        if app.registry.user(name) is not None:
            raise RegistryError(f"account {name} exists already; change its roles below")
        check_policy(name, password)
        app.registry.add_user(name, [*(roles or []), *scoped_roles(scoped)], seen.name)
        app.registry.set_password(name, password, seen.name)

    return acted(request, app, seen, create_account, "created")


@router.post(f"{PAGE}/roles")
def change_role(
    request: Request,
    seen: Admin,
    app: App,
    name: Name,
    role: Annotated[str, Form(min_length=1, max_length=80)],
    op: Annotated[Literal["add", "remove"], Form()],
) -> Response:
    """Grant or take one role of an existing account."""
    name, role = name.strip(), role.strip()

    def change() -> None:
        if app.registry.user(name) is None:
            raise RegistryError(f"no account {name}")
        if op == "add":
            app.registry.add_user(name, [role], seen.name)
        else:
            app.registry.remove_roles(name, [role], seen.name)

    return acted(request, app, seen, change, "added" if op == "add" else "removed")


@router.post(f"{PAGE}/password")
def reset_password(
    request: Request, seen: Admin, app: App, name: Name, password: Secret
) -> Response:
    """A new initial password, to be changed at the next sign-in; it also lifts a lock."""

    def reset() -> None:
        app.registry.set_password(name.strip(), password, seen.name)

    return acted(request, app, seen, reset, "password")
