"""The lineage (字段级血缘) and resource map (资源图谱) as console pages, for the supervisor and
the admin: the same renderings `ycp lineage export` and `ycp map` write, inside the console's
frame; the graph's stylesheet and script are served from here (no inline script or style).

The lineage reads every asset's newest materialization from the Dagster instance: its body is
kept for `LINEAGE_TTL` seconds per process, and the definitions are built once, on the first
visit (importing the stages would double the console's start)."""

import time
from typing import Annotated

import dagster as dg
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ycpipelines.console.context import App, Console
from ycpipelines.console.pages import render
from ycpipelines.console.roles import needs
from ycpipelines.console.sessions import Viewer
from ycpipelines.foundation.levels import Level
from ycpipelines.ops.resource_map import LEVEL_COLOURS, MAP_STYLE, SCRIPT, svg

router = APIRouter(include_in_schema=False)
Overseer = Annotated[Viewer, needs("admin", "supervisor")]
LINEAGE_TTL = 60.0
CACHE: dict[int, tuple[float, str]] = {}  # id(console) -> (when made, lineage body)
DEFINITIONS: dict[int, dg.Definitions] = {}  # id(console) -> its definitions, built once


def lineage_body(app: Console) -> str:
    """The lineage's HTML body, from this process's copy when younger than `LINEAGE_TTL`."""
    from ycpipelines.definitions import build_definitions  # the stages: loaded on first use
    from ycpipelines.ops.lineage import collect, html_body

    made = CACHE.get(id(app))
    if made and time.monotonic() - made[0] < LINEAGE_TTL:
        return made[1]
    if id(app) not in DEFINITIONS:
        DEFINITIONS[id(app)] = build_definitions(app.catalog, app.settings)
    with dg.DagsterInstance.get() as instance:
        body = html_body(collect(DEFINITIONS[id(app)], instance))
    CACHE[id(app)] = (time.monotonic(), body)
    return body


def consumers_of(app: Console) -> dict[str, set[str]]:
    """The consumers each scenario's active authorizations name."""
    found: dict[str, set[str]] = {}
    for grant in app.registry.authorizations():
        if grant.status == "active":
            found.setdefault(grant.scenario, set()).add(grant.consumer)
    return found


@router.get("/lineage")
def lineage(request: Request, _: Overseer, app: App) -> Response:
    started = time.perf_counter()
    body = lineage_body(app)
    return render(request, "lineage.html", body=body, took=time.perf_counter() - started)


@router.get("/resources")
def resources(request: Request, _: Overseer, app: App) -> Response:
    started = time.perf_counter()
    graph = svg(app.catalog, consumers_of(app))
    legend = [(level.value, level.label, LEVEL_COLOURS[level]) for level in Level]
    return render(
        request,
        "resources.html",
        graph=graph,
        legend=legend,
        took=time.perf_counter() - started,
    )


@router.get("/resources/map.css")
def map_style() -> Response:
    return Response(MAP_STYLE, media_type="text/css")


@router.get("/resources/map.js")
def map_script() -> Response:
    return Response(SCRIPT, media_type="text/javascript")
