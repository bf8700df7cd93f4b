"""Resources every stage uses, bound once by key in `definitions.py`."""

import os
from pathlib import Path

import dagster as dg

from ycpipelines.catalog.models import FileSource, SqlSource
from ycpipelines.deid.pseudonym import DEFAULT_VERSION, KEY_ENV, VERSION_ENV, PseudonymKey
from ycpipelines.lake import Lake, default_lake_root, home
from ycpipelines.ops.environments import refuse_in_prod
from ycpipelines.registry import Registry, default_registry_url
from ycpipelines.registry.store import open_registry


def default_sources_root() -> str:
    return os.environ.get("YC_SOURCES", str(home() / "sources"))


def default_zone_root() -> str:
    return os.environ.get("YC_ZONE", str(home() / "zone"))


class LakeResource(dg.ConfigurableResource):
    """The Parquet lake (数据湖) under `root`."""

    root: str

    @property
    def lake(self) -> Lake:
        return Lake(self.root)


class SourcesResource(dg.ConfigurableResource):
    """Bureau systems: a SQL source's URL comes from its environment variable; the embedded
    default (the generated demo systems under `demo_root`) applies only when it is unset."""

    demo_root: str

    def url(self, source: SqlSource, bureau: str) -> str:
        configured = os.environ.get(source.connection_env)
        if not configured:
            refuse_in_prod(f"the demo source of {bureau} ({source.connection_env} unset)")
        return configured or f"sqlite:///{Path(self.demo_root) / f'{bureau}.sqlite'}"

    def inbox(self, source: FileSource) -> Path:
        return Path(os.environ.get("YC_INBOX", Path(self.demo_root) / "inbox")) / source.inbox


class RegistryResource(dg.ConfigurableResource):
    """The registry database (approvals, audit chain)."""

    url: str

    @property
    def registry(self) -> Registry:
        return open_registry(self.url)


class DeidResource(dg.ConfigurableResource):
    """De-identification secrets (脱敏密钥); bound from the environment, never logged.

    The key's version is no secret: it is recorded wherever pseudonyms are written.
    """

    pseudonym_key: str
    pseudonym_key_version: str = DEFAULT_VERSION

    @property
    def key(self) -> PseudonymKey:
        return PseudonymKey(self.pseudonym_key_version, self.pseudonym_key)


class ZoneResource(dg.ConfigurableResource):
    """Consumer zones (交付区): the only place outside the lake that anything is written."""

    root: str

    def path(self, consumer: str) -> Path:
        return Path(self.root) / consumer


def resources() -> dict[str, dg.ConfigurableResource]:
    """Every resource by key, with secrets read through `EnvVar`."""
    return {
        "lake": LakeResource(root=default_lake_root()),
        "sources": SourcesResource(demo_root=default_sources_root()),
        "registry": RegistryResource(url=default_registry_url()),
        "deid": DeidResource(
            pseudonym_key=dg.EnvVar(KEY_ENV),
            pseudonym_key_version=os.environ.get(VERSION_ENV) or DEFAULT_VERSION,
        ),
        "zone": ZoneResource(root=default_zone_root()),
    }
