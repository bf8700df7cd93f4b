"""一数一源 check on `raw/<bureau>/<dataset>`: shared elements agree with their authoritative
source.

The comparison reads two datasets, so it is declared as a check of `raw/<bureau>/<dataset>`
with `std/<authority>` as an additional dependency. The authority's partitions live under another
bureau, so no per-partition mapping exists; the edge is asset-level (Dagster keeps no partition
mapping for a check's additional dependency) and the check reads every committed partition.
It is not part of the ingest job; it runs after both are collected and governed (the
`check_<dataset>` job), so its result does not depend on which of the two was ingested first.
It warns; conflicts become bureau tickets.
"""

import warnings
from collections.abc import Iterator

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.foundation.feedback import conflict_findings
from ycpipelines.foundation.keys import Layer, raw_key, std_key
from ycpipelines.foundation.lake import Lake, Partition, duck
from ycpipelines.foundation.partitions import dataset_partitions
from ycpipelines.foundation.ranges import Event, check_each
from ycpipelines.foundation.resources import LakeResource
from ycpipelines.govern.conflicts import EXAMPLES, authorities, find_conflicts
from ycpipelines.registry import Registry
from ycpipelines.registry.resource import RegistryResource

ONE_SOURCE = "one_source"


def compare_partition(
    catalog: Catalog,
    dataset: Dataset,
    partition: Partition,
    lake: Lake,
    store: Registry,
    run_id: str,
) -> dg.AssetCheckResult:
    """一数一源 for one partition: conflicts recorded, tickets synced."""
    raw = lake.file(Layer.RAW, dataset.id, partition)
    with duck() as con:
        compared = find_conflicts(con, catalog, dataset, raw, lake) if raw.exists() else None
    if compared is None:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"compared": False, "reason": "no committed partition to compare"},
        )
    by_element, found = compared
    store.replace_conflicts(
        dataset=dataset.id,
        bureau=partition.bureau,
        day=partition.date,
        run_id=run_id,
        found=found,
    )
    tickets = store.sync_tickets(
        dataset=dataset.id,
        bureau=partition.bureau,
        day=partition.date,
        stage=ONE_SOURCE,
        run_id=run_id,
        found=conflict_findings(found),
        clean=True,
    )
    return dg.AssetCheckResult(
        passed=not found,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "compared": True,
            "conflicts_by_element": dg.MetadataValue.json(by_element),
            "tickets": dg.MetadataValue.json(tickets),
            "examples": dg.MetadataValue.json(found[:EXAMPLES]),
        },
    )


def one_source_check(catalog: Catalog, dataset: Dataset) -> dg.AssetChecksDefinition:
    sources = authorities(catalog, dataset)

    @dg.asset_check(
        asset=raw_key(dataset),
        name=ONE_SOURCE,
        partitions_def=dataset_partitions(catalog, dataset),
        additional_deps=[std_key(a) for a in sources],
        description="一数一源: shared elements agree with their authoritative source "
        f"({', '.join(f'std/{a.id}' for a in sources)}, newest value per person)",
    )
    def one_source(
        context: dg.AssetCheckExecutionContext, lake: LakeResource, registry: RegistryResource
    ) -> Iterator[Event]:
        yield from check_each(
            context,
            dg.AssetCheckKey(raw_key(dataset), ONE_SOURCE),
            lambda p: compare_partition(
                catalog, dataset, p, lake.lake, registry.registry, context.run.run_id
            ),
            after_ingest=True,
        )

    return one_source


def one_source_checks(catalog: Catalog) -> list[dg.AssetChecksDefinition]:
    """One check per dataset that shares an element it is not the authority of (preview
    feature: checks kept per partition, used knowingly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return [one_source_check(catalog, d) for d in catalog.datasets if authorities(catalog, d)]
