"""治理 Govern: `std/<dataset>` (standardized, quality-gated) and its quarantine per partition."""

import hashlib
from collections.abc import Iterator

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.foundation.keys import Layer, raw_key, std_key
from ycpipelines.foundation.lake import Partition
from ycpipelines.foundation.metadata import lineage, schema
from ycpipelines.foundation.partitions import dataset_partitions
from ycpipelines.foundation.ranges import Event, materialize_each, ranged
from ycpipelines.foundation.resources import LakeResource
from ycpipelines.govern.checks import (
    check_specs,
    quality_gate,
    quarantine_share,
    reconciled,
)
from ycpipelines.govern.partition import govern_partition
from ycpipelines.govern.records import Governed
from ycpipelines.govern.suites import Suite, load_suite
from ycpipelines.registry.resource import RegistryResource


def code_version(catalog: Catalog, dataset: Dataset, suite: Suite) -> str:
    """The dataset's, its suite's and its standards' versions: a change to any re-runs std/."""
    standards_version = hashlib.sha256(
        "".join(
            catalog.versions[f"standard:{name}"]
            for name in sorted({f.standard or "text" for f in dataset.fields})
        ).encode()
    ).hexdigest()[:8]
    return f"{catalog.versions[dataset.id]}-{suite.version}-{standards_version}"


def materialized(governed: Governed, dataset: Dataset) -> dg.MaterializeResult:
    """A partition's metadata and its three check results."""
    routed = governed.routed
    balance = reconciled(routed)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": routed.standardized,
            "collected": routed.collected,
            "quarantined": routed.quarantined,
            **balance.metadata,
            "quarantined_by_rule": dg.MetadataValue.json(routed.by_rule),
            "tickets": dg.MetadataValue.json(governed.tickets),
            **governed.outcome,
            "dagster/column_lineage": lineage(
                {f.name: [(raw_key(dataset), f.name)] for f in dataset.fields}
            ),
        },
        check_results=[
            quality_gate(governed.gate),
            quarantine_share(routed, dataset),
            balance,
        ],
    )


def std_asset(catalog: Catalog, dataset: Dataset) -> dg.AssetsDefinition:
    suite = load_suite(dataset)
    key = std_key(dataset)
    partitions = dataset_partitions(catalog, dataset)
    bureau = catalog.bureau(dataset.bureau)

    @dg.asset(
        key=key,
        deps=[raw_key(dataset)],
        partitions_def=partitions,
        group_name=Layer.STD.value,
        owners=[bureau.owner, "team:governance"],
        kinds={"duckdb", "parquet"},
        code_version=code_version(catalog, dataset, suite),
        description=f"治理 Govern: {dataset.label}, standardized (一数一源一标准); rows failing "
        "row-level rules are quarantined with rule and reason; a Great Expectations suite "
        "gates it.",
        metadata={
            "dagster/column_schema": schema(dataset.source_columns(typed=True)),
            "expectation_suite": f"expectations/{dataset.id}.json",
        },
        check_specs=check_specs(dataset, suite, key, partitions),
    )
    def govern(
        context: dg.AssetExecutionContext, lake: LakeResource, registry: RegistryResource
    ) -> Iterator[Event]:
        def one(partition: Partition) -> dg.MaterializeResult:
            governed = govern_partition(
                catalog,
                dataset,
                suite,
                partition,
                lake=lake.lake,
                store=registry.registry,
                run_id=context.run_id,
            )
            return materialized(governed, dataset)

        yield from materialize_each(context, one)

    return ranged(govern)
