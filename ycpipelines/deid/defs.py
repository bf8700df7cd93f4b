"""The de-identification stage's Definitions: safe/ datasets, the grading check on std/ and the
journalist-risk check against the population register."""

import dagster as dg

from ycpipelines.catalog import Catalog
from ycpipelines.deid.assets import safe_asset
from ycpipelines.deid.grading import grading_checks
from ycpipelines.deid.population import journalist_checks


def deid_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(
        assets=[safe_asset(catalog, d) for d in catalog.datasets],
        asset_checks=[*grading_checks(catalog), *journalist_checks(catalog)],
    )
