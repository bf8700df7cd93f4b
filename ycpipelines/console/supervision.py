"""Supervision (监管): the audit log searched in the database, the chain's verification with its
signed checkpoints, and every delivery and revocation across consumers. Read-only for the
supervisor and the admin; nothing here changes the registry."""

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ycpipelines.console.context import App
from ycpipelines.console.deliveries import STANDINGS
from ycpipelines.console.pages import render
from ycpipelines.console.roles import needs
from ycpipelines.console.sessions import Viewer
from ycpipelines.foundation.clock import PILOT_ZONE, pilot_today, stamp
from ycpipelines.registry.deliveries import standing
from ycpipelines.registry.models import AuditEntry

router = APIRouter(include_in_schema=False)
Overseer = Annotated[Viewer, needs("admin", "supervisor")]
Filter = Annotated[str, Query(max_length=128)]
PER_PAGE = 50
MAX_PAGE = 10**9


@dataclass(frozen=True)
class Search:
    """What the audit page was asked for: filters as typed, days in the pilot's zone."""

    actor: str = ""
    subject: str = ""
    action: str = ""
    since: str = ""
    until: str = ""

    def days(self) -> tuple[datetime | None, datetime | None]:
        """The first instant of `since` and of the day after `until` (+08:00); a day that is
        not YYYY-MM-DD is a ValueError."""
        start = day_start(self.since)
        end = day_start(self.until)
        return start, end + timedelta(days=1) if end else None

    def query(self, page: int) -> str:
        return urlencode({**{k: v for k, v in vars(self).items() if v}, "page": page})


def day_start(text: str) -> datetime | None:
    if not text.strip():
        return None
    return datetime.combine(date.fromisoformat(text.strip()), time(), PILOT_ZONE)


def as_json(entry: AuditEntry) -> str:
    """An entry's detail as JSON (it holds masked values and counts only, by construction)."""
    return json.dumps(entry.detail, ensure_ascii=False, sort_keys=True)


@router.get("/audit")
def audit(
    request: Request,
    _: Overseer,
    app: App,
    actor: Filter = "",
    subject: Filter = "",
    action: Filter = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    """The audit log, newest first, 50 entries a page, filtered in the registry's database."""
    search = Search(actor.strip(), subject.strip(), action.strip(), since, until)
    try:
        start, end = search.days()
    except ValueError:
        return render(
            request,
            "audit.html",
            status=422,
            search=search,
            entries=[],
            page=page,
            error="日期须为 YYYY-MM-DD (a day is YYYY-MM-DD)",
        )
    found = app.registry.search_audit(
        actor=search.actor,
        subject=search.subject,
        action=search.action,
        since=start,
        until=end,
        limit=PER_PAGE + 1,
        offset=(page - 1) * PER_PAGE,
    )
    return render(
        request,
        "audit.html",
        search=search,
        entries=[(e, as_json(e)) for e in found[:PER_PAGE]],
        page=page,
        newer=search.query(page - 1) if page > 1 else None,
        older=search.query(page + 1) if len(found) > PER_PAGE else None,
    )


@router.get("/audit/verify")
def verify(request: Request, _: Overseer, app: App) -> Response:
    """The chain's verdict: entries checked, the newest signed checkpoint and whether the
    checkpoints hold, and the first entry that breaks the chain."""
    verdict = app.registry.verify_audit()
    point = verdict.checkpoint
    broken = next((p for p in verdict.problems if p.check == "chain"), None)
    return render(
        request,
        "audit_verify.html",
        verdict=verdict,
        broken=broken,
        checkpoints_ok=not any(p.check == "checkpoint" for p in verdict.problems),
        checkpoint_at=stamp(datetime.fromisoformat(point.at)) if point else "",
    )


@router.get("/supervision/deliveries")
def deliveries(request: Request, _: Overseer, app: App) -> Response:
    """Every delivery with its standing today, and every revocation with its reason."""
    grants = {g.id: g for g in app.registry.authorizations()}
    today = pilot_today()
    rows = [
        (d, STANDINGS.get(s, (s, "muted")))
        for d in reversed(app.registry.deliveries())
        for s in [standing(d, grants.get(d.authorization_id), today)]
    ]
    return render(
        request,
        "supervision_deliveries.html",
        rows=rows,
        revocations=app.registry.search_audit(action="auth.revoked", limit=200),
        destroyed=app.registry.search_audit(action="delivery.destroyed", limit=200),
    )
