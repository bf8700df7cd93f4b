"""The grading check (分级检查) on every `std/<dataset>` partition: a column that carries PII
must be graded at least at the minimum level of its entity types (catalog.levels)."""

import warnings
from collections.abc import Iterator

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.deid.classify import classify, differences
from ycpipelines.foundation.keys import Layer, std_key
from ycpipelines.foundation.lake import Lake, Partition, duck
from ycpipelines.foundation.partitions import dataset_partitions
from ycpipelines.foundation.ranges import Event, check_each
from ycpipelines.foundation.resources import LakeResource

PII_GRADED = "pii_graded_at_minimum"
# Rows sampled per partition: enough to see a column's entity types, cheap next to the run.
CHECK_SAMPLE = 200


def graded(dataset: Dataset, partition: Partition, lake: Lake) -> dg.AssetCheckResult:
    """The grading check of one `std/<dataset>` partition, on a sample of its rows."""
    std = lake.file(Layer.STD, dataset.id, partition)
    with duck() as con:
        proposals = classify(con, [std], CHECK_SAMPLE)
    below = [d for d in differences(dataset, proposals) if d.below_minimum]
    return dg.AssetCheckResult(
        passed=not below,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "columns_scanned": len(proposals),
            "below_minimum": dg.MetadataValue.json(
                {d.column: f"{d.declared} → {d.proposed}" for d in below}
            ),
        },
    )


def grading_check(catalog: Catalog, dataset: Dataset) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=std_key(dataset),
        name=PII_GRADED,
        partitions_def=dataset_partitions(catalog, dataset),
        description="分类分级: no column carrying PII (by Presidio scan of a sample, or by its "
        "name) is graded below the minimum level of its entity types",
    )
    def pii_graded(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> Iterator[Event]:
        yield from check_each(
            context,
            dg.AssetCheckKey(std_key(dataset), PII_GRADED),
            lambda p: graded(dataset, p, lake.lake),
        )

    return pii_graded


def grading_checks(catalog: Catalog) -> list[dg.AssetChecksDefinition]:
    """One check per dataset, kept per partition (a preview feature, used knowingly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return [grading_check(catalog, d) for d in catalog.datasets]
