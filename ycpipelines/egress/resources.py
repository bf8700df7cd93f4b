"""Consumer zones as a Dagster resource (交付区)."""

from pathlib import Path

import dagster as dg


class ZoneResource(dg.ConfigurableResource):
    """The only place outside the lake that anything is written."""

    root: str

    def path(self, consumer: str) -> Path:
        return Path(self.root) / consumer
