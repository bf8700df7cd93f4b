"""The review desk (审核台): the queue of pending 出域 requests, each request's evidence sheet, the
reviewer's decision and the printable 出域审核单. The registry decides who may decide (four eyes,
launcher and grantor excluded) and refuses; the page shows its refusal."""

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from ycpipelines.console.context import App, Console, Id
from ycpipelines.console.pages import acted, render
from ycpipelines.console.roles import needs
from ycpipelines.console.sessions import Viewer
from ycpipelines.egress.desk import review_sheet
from ycpipelines.egress.form import printed_form
from ycpipelines.foundation.clock import as_utc, stamp
from ycpipelines.registry import RegistryError
from ycpipelines.registry.models import ApprovalRequest
from ycpipelines.registry.requests import Decision

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, needs("reviewer", "supervisor")]
Reviewer = Annotated[Viewer, needs("reviewer")]
DECIDED = ("approved", "rejected", "published")
RECENT = 20  # decided requests listed below the queue
STATUS = {
    "pending": "待审核",
    "approved": "已批准",
    "rejected": "已驳回",
    "published": "已交付",
    "superseded": "已被替代",
    "voided": "已作废",
}


def waited(since: datetime | None, now: datetime) -> str:
    """How long a request has waited, in days and hours, or minutes (等待时长)."""
    if since is None:
        return ""
    minutes = max(0, int((now - as_utc(since)).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    if days:
        return f"{days} 天 {rest // 60} 小时"
    return f"{rest // 60} 小时 {rest % 60} 分" if rest >= 60 else f"{rest} 分钟"


def queue_row(r: ApprovalRequest, now: datetime) -> dict:
    return {
        "id": r.id,
        "scenario": r.scenario,
        "consumer": r.consumer,
        "rows": r.row_count,
        "status": STATUS.get(r.status, r.status),
        "requested_at": stamp(r.requested_at),
        "waited": waited(r.requested_at, now),
        "reviewer": r.reviewer or "",
        "decided_at": stamp(r.decided_at),
    }


@router.get("/desk")
def desk(request: Request, seen: Reader, app: App) -> Response:
    """Pending requests oldest first, then the recently decided ones, newest first."""
    now = datetime.now(UTC)
    seeable = app.registry.visible_requests(seen.name)
    pending = [r for r in seeable if r.status == "pending"]
    pending.sort(key=lambda r: (as_utc(r.requested_at), r.id))
    decided = [r for r in seeable if r.status in DECIDED and r.decided_at]
    decided.sort(key=lambda r: (as_utc(r.decided_at), r.id), reverse=True)
    return render(
        request,
        "desk.html",
        queue=[queue_row(r, now) for r in pending],
        decided=[queue_row(r, now) for r in decided[:RECENT]],
        reviewer=seen.has("reviewer"),
    )


def approval_of(app: Console, request_id: int) -> tuple[Decision | None, str]:
    """The verified approval of the request (or None), and why none could be verified."""
    try:
        return app.registry.verified_approval(request_id), ""
    except RegistryError as refused:
        return None, str(refused)


def request_page(
    request: Request, app: Console, seen: Viewer, request_id: int, status: int = 200, **extra
) -> Response:
    """The evidence sheet of a request the viewer may see (else 404), and for a reviewer of a
    pending request the decision form, or why the registry would refuse their decision."""
    found = app.registry.request_for(seen.name, request_id)
    sheet = review_sheet(app.registry, app.catalog, request_id)
    decision, unverified = approval_of(app, request_id)
    deciding = seen.has("reviewer") and found.status == "pending"
    barred = app.registry.check_reviewer(found, seen.name) if deciding else None
    return render(
        request,
        "desk_request.html",
        status=status,
        sheet=sheet,
        r=sheet.request,
        status_label=STATUS.get(found.status, found.status),
        decision=decision,
        unverified=unverified,
        deciding=deciding and barred is None,
        barred=barred,
        decided=request.query_params.get("decided"),
        **extra,
    )


@router.get("/desk/{request_id}")
def request_sheet(request: Request, request_id: Id, seen: Reader, app: App) -> Response:
    return request_page(request, app, seen, request_id)


@router.post("/desk/{request_id}/decision")
def decide(
    request: Request,
    request_id: Id,
    decision: Annotated[Literal["approve", "reject"], Form()],
    seen: Reviewer,
    app: App,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """批准出域 or 驳回, as the signed-in reviewer; the registry's refusal shows on the page."""
    app.registry.request_for(seen.name, request_id)

    def step() -> str:
        approve = decision == "approve"
        app.registry.decide(request_id, approve=approve, reviewer=seen.name, comment=comment)
        return f"/desk/{request_id}?decided={decision}"

    return acted(step, partial(request_page, request, app, seen, request_id))


@router.get("/desk/{request_id}/form.pdf")
def review_form(request_id: Id, seen: Reader, app: App) -> Response:
    """The 出域审核单 as a PDF download (audited `egress.form_printed`)."""
    app.registry.request_for(seen.name, request_id)
    pdf, _ = printed_form(app.registry, app.catalog, request_id, seen.name)
    name = f"出域审核单-{request_id}.pdf"
    disposition = (
        f"attachment; filename=\"review-form-{request_id}.pdf\"; filename*=UTF-8''{quote(name)}"
    )
    return Response(pdf, media_type="application/pdf", headers={"content-disposition": disposition})
