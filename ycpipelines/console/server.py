"""Serving the console (控制台服务) with uvicorn: loopback by default, behind TLS in production."""

import uvicorn

from ycpipelines.catalog import Catalog
from ycpipelines.console.app import create_app
from ycpipelines.foundation.settings import Settings
from ycpipelines.registry import Registry


def serve(settings: Settings, registry: Registry, catalog: Catalog, host: str, port: int) -> None:
    """Run the console until interrupted; no `Server` header, no proxy headers trusted."""
    app = create_app(settings, registry, catalog)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        server_header=False,
        proxy_headers=False,
    )
