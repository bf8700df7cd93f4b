"""Every resource bound once by key (资源绑定), from one `Settings`; secrets through `EnvVar`."""

import dagster as dg

from ycpipelines.collect.resources import SourcesResource
from ycpipelines.deid.pseudonym import KEY_ENV
from ycpipelines.deid.resources import DeidResource
from ycpipelines.egress.resources import ZoneResource
from ycpipelines.foundation.resources import LakeResource
from ycpipelines.foundation.settings import Settings
from ycpipelines.registry.resource import RegistryResource


def resources(settings: Settings | None = None) -> dict[str, dg.ConfigurableResource]:
    """Every resource by key."""
    settings = settings or Settings()
    return {
        "lake": LakeResource(root=settings.lake_root),
        "sources": SourcesResource(
            demo_root=settings.sources_root,
            inbox_root=str(settings.inbox) if settings.inbox else None,
        ),
        "registry": RegistryResource(url=settings.registry),
        "deid": DeidResource(
            pseudonym_key=dg.EnvVar(KEY_ENV),
            pseudonym_key_version=settings.pseudonym_key_version,
        ),
        "zone": ZoneResource(root=settings.zone_root),
    }
