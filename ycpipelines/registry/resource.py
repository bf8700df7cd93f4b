"""The registry as a Dagster resource (运营登记库)."""

import dagster as dg

from ycpipelines.registry.store import Registry, open_registry


class RegistryResource(dg.ConfigurableResource):
    """The registry database (approvals, audit chain)."""

    url: str

    @property
    def registry(self) -> Registry:
        return open_registry(self.url)
