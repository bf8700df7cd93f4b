"""The console app (控制台应用): routers bound to one settings object, registry and catalog."""

from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ycpipelines.catalog import Catalog, load_catalog
from ycpipelines.console import (
    admin,
    admission,
    api,
    bureau,
    bureau_api,
    dagster_proxy,
    deliveries,
    demands,
    desk,
    errors,
    home,
    login,
    maps,
    password,
    settlements,
    supervision,
)
from ycpipelines.console.context import HERE, Console
from ycpipelines.console.csrf import PROXIED, csrf_guard
from ycpipelines.foundation.clock import stamp
from ycpipelines.foundation.settings import Settings
from ycpipelines.registry import Registry

# No script, style or frame from anywhere else; htmx is served from /static.
HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}

# The Dagster UI's own POSTs must carry its Origin, which `no-referrer` would blank.
PROXIED_HEADERS = {"referrer-policy": "same-origin"}


async def guarded(request: Request, call_next: Callable[[Request], Awaitable[Response]]):
    """Security headers on every answer; an unexpected error becomes an incident page here, so
    no server log repeats its message."""
    try:
        response = await call_next(request)
    except Exception as error:
        response = await errors.unexpected(request, error)
    if request.url.path.startswith(PROXIED):  # the Dagster UI keeps its own (nonce) policy
        for name, value in {**HEADERS, **PROXIED_HEADERS}.items():
            response.headers.setdefault(name, value)
        return response
    response.headers.update(HEADERS)
    if not request.url.path.startswith("/static/"):
        response.headers["cache-control"] = "no-store"
    return response


def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=HERE / "templates")
    found.env.filters["stamp"] = stamp
    return found


def create_app(
    settings: Settings, registry: Registry | None = None, catalog: Catalog | None = None
) -> FastAPI:
    """The console over `registry` (default: the settings' registry, migrated already)."""
    app = FastAPI(
        title="银川公共数据运营平台 控制台 API (Yinchuan public data operation console)",
        version="1",
        dependencies=[Depends(csrf_guard)],
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.console = Console(
        settings=settings,
        registry=registry or Registry(settings=settings),
        catalog=catalog or load_catalog(settings.catalog),
        templates=templates(),
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    errors.install(app)
    app.middleware("http")(guarded)
    for module in (
        login,
        password,
        home,
        desk,
        deliveries,
        admin,
        api,
        admission,
        demands,
        bureau,
        bureau_api,
        supervision,
        settlements,
        maps,
        dagster_proxy,
    ):
        app.include_router(module.router)
    return app
