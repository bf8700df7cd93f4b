"""Admission (准入) pages: an account with no roles yet applies for its processing entity
(entity, unified social credit code, qualifications, contact, security commitments); the admin's
queue admits or refuses each, with a reason. The registry decides both and words its refusals."""

from collections.abc import Callable
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from ycpipelines.console import pages
from ycpipelines.console.context import App, Console, Id
from ycpipelines.console.pages import render, then
from ycpipelines.console.sessions import SignedIn, Viewer
from ycpipelines.registry.admissions import Application

router = APIRouter(include_in_schema=False)
PAGE = "/admission"
Short = Annotated[str, Form(max_length=200)]
DONE = {
    "applied": "准入申请已提交，并记入审计链；请等待数据主管部门审批。",
    "admitted": "已准入：申请账户获得加工使用主体角色，须重新登录后使用。",
    "refused": "已拒绝准入，原因已记入审计链。",
}


def party(seen: SignedIn) -> Viewer:
    """The admin (the queue) or an account with no roles yet (the applicant); else 403."""
    if seen.has("admin") or not seen.roles:
        return seen
    raise HTTPException(403, "无权限：准入申请由尚无角色的账户提交，由数据主管部门审批")


Party = Annotated[Viewer, Depends(party)]


def admission_page(
    request: Request, app: Console, seen: Viewer, status: int = 200, **context: object
) -> Response:
    registry, admin = app.registry, seen.has("admin")
    return render(
        request,
        "admission.html",
        status=status,
        admin=admin,
        mine=[] if admin else list(reversed(registry.admissions_of(seen.name))),
        queue=registry.admissions("pending") if admin else [],
        decided=[a for a in reversed(registry.admissions()) if a.status != "pending"]
        if admin
        else [],
        done=DONE.get(request.query_params.get("done", "")),
        **context,
    )


def acted(
    request: Request, app: Console, seen: Viewer, action: Callable[[], object], done: str
) -> Response:
    """Run the action; a refusal is shown on the page in the registry's words."""
    return pages.acted(
        then(action, f"{PAGE}?done={done}"), partial(admission_page, request, app, seen)
    )


@router.get(PAGE)
def admission(request: Request, seen: Party, app: App) -> Response:
    return admission_page(request, app, seen)


@router.post(PAGE)
def apply(
    request: Request,
    seen: Party,
    app: App,
    entity_id: Annotated[str, Form(max_length=64)],
    entity_name: Short,
    uscc: Annotated[str, Form(max_length=40)],
    contact: Short,
    qualifications: Annotated[str, Form(max_length=4000)],
    commitments: Annotated[bool, Form()] = False,
) -> Response:
    """File the applicant's application (the registry checks the code and the commitments)."""
    stated = Application(
        entity_id.strip(), entity_name.strip(), uscc.strip(), qualifications, contact, commitments
    )
    return acted(
        request,
        app,
        seen,
        lambda: app.registry.apply_for_admission(seen.name, stated, app.catalog),
        "applied",
    )


@router.post(PAGE + "/{admission_id}/decision")
def decide(
    request: Request,
    admission_id: Id,
    seen: Party,
    app: App,
    decision: Annotated[Literal["admit", "refuse"], Form()],
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Admit or refuse, with the reason the audit chain keeps (an admin only)."""
    admit = decision == "admit"

    def record() -> None:
        app.registry.decide_admission(admission_id, seen.name, admit, reason, app.catalog)

    return acted(request, app, seen, record, "admitted" if admit else "refused")
