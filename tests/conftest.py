"""Shared fixtures: an isolated YC_HOME (lake, registry migrated, zone, Dagster home) and demo
sources."""

import json
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pytest

from ycpipelines.foundation.settings import PROJECT_ROOT

from helpers import server_database, upgraded

if TYPE_CHECKING:
    from ycpipelines.registry import Registry

TEST_KEY = "test-pseudonym-key-not-for-production"


def upgrade_default_registry() -> None:
    """The default registry (embedded, under YC_HOME) at the code's schema revision, as any
    `ycp` command in development leaves it."""
    from ycpipelines.registry import Registry, default_registry_url

    Registry.upgrade(default_registry_url())


@pytest.fixture
def pg_url() -> Iterator[str]:
    with server_database("postgresql") as url:
        yield url


@pytest.fixture(scope="module")
def databases() -> Iterator[Callable[[str], str]]:
    """Fresh server databases for one test module, made on first use: `databases("mariadb")`."""
    made: dict[str, str] = {}
    stack = []

    def get(server: str) -> str:
        if server not in made:
            context = server_database(server)
            made[server] = context.__enter__()
            stack.append(context)
        return made[server]

    yield get
    for context in reversed(stack):
        context.__exit__(None, None, None)


@pytest.fixture(scope="module")
def egress_registry(yc_home: Path, databases: Callable[[str], str]) -> Iterator["Registry"]:
    """The module's registry: a fresh PostgreSQL database, migrated, named by YC_REGISTRY_URL
    for every `ycp` command and run of the module."""
    from ycpipelines.registry import Registry

    os.environ["YC_REGISTRY_URL"] = upgraded(databases("postgresql"))
    try:
        yield Registry()
    finally:
        del os.environ["YC_REGISTRY_URL"]


@pytest.fixture(scope="session", autouse=True)
def private_default_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests that use no `yc_home` still write keys and checkpoints in a temporary home, never
    in the working tree's `.yc`."""
    saved = os.environ.get("YC_HOME")
    os.environ["YC_HOME"] = str(tmp_path_factory.mktemp("default-home"))
    upgrade_default_registry()
    yield
    if saved is None:
        os.environ.pop("YC_HOME", None)
    else:
        os.environ["YC_HOME"] = saved


@pytest.fixture(scope="module")
def yc_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every path the pipeline writes, under one temporary YC_HOME, for one test module."""
    home = tmp_path_factory.mktemp("yc")
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("YC_", "DAGSTER_")):
            del os.environ[name]
    os.environ.update({"YC_HOME": str(home), "YC_PSEUDONYM_KEY": TEST_KEY})
    from ycpipelines.cli import embedded_dagster_home

    embedded_dagster_home()
    upgrade_default_registry()
    yield home
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def instance(yc_home: Path) -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.get() as inst:
        yield inst


@pytest.fixture(scope="module")
def sources(yc_home: Path) -> dict:
    """Small demo sources: 1,200 visits over 3 days, with the seeded defects."""
    from ycpipelines.demo.sources import write_sources

    return write_sources(1200, seed=11, out=yc_home / "sources", days=3, end=date(2025, 6, 30))


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    """A writable copy of the catalog and expectations, for tests that break them."""
    shutil.copytree(PROJECT_ROOT / "assets", tmp_path / "assets")
    shutil.copytree(PROJECT_ROOT / "expectations", tmp_path / "expectations")
    return tmp_path


def manifest(home: Path) -> dict:
    return json.loads((home / "sources" / "manifest.json").read_text())
