"""The egress stage's Definitions: published assets, publish jobs and the review sensor."""

import dagster as dg

from ycpipelines.catalog import Catalog
from ycpipelines.egress.assets import egress_sensor, publish_job, published_asset


def egress_defs(catalog: Catalog) -> dg.Definitions:
    jobs = [publish_job(p) for p in catalog.products]
    return dg.Definitions(
        assets=[published_asset(catalog, p) for p in catalog.products],
        jobs=jobs,
        sensors=[egress_sensor(catalog, jobs)],
    )
