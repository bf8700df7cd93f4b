"""Backfills as bureaus use them (补采): a bureau's days, collected → governed → de-identified,
submitted to the Dagster instance as a real backfill that the daemon runs."""

import time
from datetime import date

import dagster as dg
from dagster._core.execution.backfill import PartitionBackfill
from dagster._core.utils import make_new_backfill_id

from ycpipelines.catalog import Catalog
from ycpipelines.foundation.keys import raw_key, safe_key, std_key
from ycpipelines.foundation.partitions import days_between, partition_key


def submit_backfill(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    catalog: Catalog,
    bureau: str,
    first: date,
    last: date,
    datasets: list[str] | None = None,
) -> str:
    """File a backfill of `bureau`'s datasets (all, or `datasets`) for the days first..last."""
    chosen = [
        d for d in catalog.datasets if d.bureau == bureau and (not datasets or d.id in datasets)
    ]
    if not chosen:
        raise ValueError(f"bureau {bureau!r} delivers none of {datasets or 'the catalog'}")
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(),
        asset_graph=defs.resolve_asset_graph(),
        partition_names=[partition_key(bureau, day) for day in days_between(first, last)],
        asset_selection=[k for d in chosen for k in (raw_key(d), std_key(d), safe_key(d))],
        backfill_timestamp=time.time(),
        tags={"ycp/bureau": bureau},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=f"补采 {bureau} {first}..{last}",
        description=f"{', '.join(d.id for d in chosen)}: collect → govern → de-identify",
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id
