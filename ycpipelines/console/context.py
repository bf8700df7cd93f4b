"""What every page shares (控制台上下文): the settings read once, the registry, the catalog and
the templates, bound when the app is made."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi import Path as InPath
from fastapi.templating import Jinja2Templates

from ycpipelines.catalog import Catalog
from ycpipelines.foundation.settings import Settings
from ycpipelines.registry import Registry

HERE = Path(__file__).parent


@dataclass
class Console:
    """The console's resources, bound once in `create_app`."""

    settings: Settings
    registry: Registry
    catalog: Catalog
    templates: Jinja2Templates


def console(request: Request) -> Console:
    """The console the request's app was made with (a FastAPI dependency)."""
    return request.app.state.console


App = Annotated[Console, Depends(console)]
# A record id in a path: bounded like the registry's integer keys (a larger one is a 422).
MAX_ID = 2_147_483_647
Id = Annotated[int, InPath(ge=1, le=MAX_ID)]
