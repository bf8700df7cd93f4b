"""Freshness (时效): each collected dataset must land within its source's `freshness_hours`
from the catalog; the instance's freshness daemon evaluates the policy, so an operator sees a
late bureau in the UI (a warning at three quarters of the window, a failure past it)."""

import warnings
from datetime import timedelta

import dagster as dg

from ycpipelines.catalog import Catalog
from ycpipelines.foundation.keys import raw_key


def freshness_policies(catalog: Catalog) -> dict[dg.AssetKey, dg.FreshnessPolicy]:
    return {
        raw_key(d): dg.FreshnessPolicy.time_window(
            fail_window=timedelta(hours=d.source.freshness_hours),
            warn_window=timedelta(hours=d.source.freshness_hours * 3 / 4),
        )
        for d in catalog.datasets
    }


def with_freshness(defs: dg.Definitions, catalog: Catalog) -> dg.Definitions:
    """The same Definitions with each collected asset carrying its freshness policy."""
    policies = freshness_policies(catalog)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # the only way to map a selection
        return defs.map_resolved_asset_specs(
            func=lambda spec: spec.replace_attributes(freshness_policy=policies[spec.key]),
            selection=dg.AssetSelection.assets(*policies),
        )
