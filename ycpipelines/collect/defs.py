"""The collect stage's Definitions: a raw/ asset per catalog dataset, and the sensor submitting
the backfills bureaus request (补采)."""

import dagster as dg

from ycpipelines.catalog import Catalog
from ycpipelines.collect.assets import backfill_sensor, raw_asset


def collect_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(
        assets=[raw_asset(catalog, d) for d in catalog.datasets],
        sensors=[backfill_sensor(catalog)],
    )
