"""The govern stage's Definitions: standardized datasets and the person master."""

import dagster as dg

from ycpipelines.catalog import Catalog
from ycpipelines.govern.assets import std_asset
from ycpipelines.govern.master import person_master_asset
from ycpipelines.govern.one_source import one_source_checks
from ycpipelines.govern.standards import check_standards


def govern_defs(catalog: Catalog) -> dg.Definitions:
    check_standards(catalog)
    return dg.Definitions(
        assets=[*(std_asset(catalog, d) for d in catalog.datasets), person_master_asset(catalog)],
        asset_checks=one_source_checks(catalog),
    )
