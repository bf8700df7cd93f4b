"""The lake as a Dagster resource (数据湖资源), bound once by key in `resources.py`."""

import dagster as dg

from ycpipelines.foundation.lake import Lake


class LakeResource(dg.ConfigurableResource):
    """The Parquet lake (数据湖) under `root`."""

    root: str

    @property
    def lake(self) -> Lake:
        return Lake(self.root)
