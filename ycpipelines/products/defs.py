"""The products stage's Definitions: one `product/<scenario>` asset per manifest."""

import dagster as dg

from ycpipelines.catalog import Catalog
from ycpipelines.products.assets import product_asset


def product_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(assets=[product_asset(catalog, p) for p in catalog.products])
