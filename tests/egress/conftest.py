"""Egress tests' shared setup: a registry of their own on the machine's PostgreSQL."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ycpipelines.registry import Registry

from helpers import upgraded


@pytest.fixture(scope="module")
def egress_registry(yc_home: Path, databases: Callable[[str], str]) -> Iterator[Registry]:
    """The module's registry: a fresh PostgreSQL database, migrated, named by YC_REGISTRY_URL
    for every `ycp` command and run of the module."""
    os.environ["YC_REGISTRY_URL"] = upgraded(databases("postgresql"))
    yield Registry()
    del os.environ["YC_REGISTRY_URL"]
