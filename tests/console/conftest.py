"""The console's fixtures: a private registry and the app over it."""

from pathlib import Path

import pytest
from fastapi import FastAPI

from ycpipelines.catalog import load_catalog
from ycpipelines.console.app import create_app
from ycpipelines.foundation.settings import Settings
from ycpipelines.registry import Registry


@pytest.fixture(scope="module")
def registry(yc_home: Path) -> Registry:
    return Registry(settings=Settings())


@pytest.fixture(scope="module")
def app(registry: Registry) -> FastAPI:
    settings = Settings()
    return create_app(settings, registry, load_catalog(settings.catalog))
