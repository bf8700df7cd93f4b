"""脱敏 De-identify: `safe/<dataset>` per partition, with blocking privacy checks."""

from collections.abc import Iterator

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset, Policy, Role
from ycpipelines.deid.checks import check_specs, k_anonymity, reconciled, residual
from ycpipelines.deid.partition import deidentify_partition
from ycpipelines.deid.policies import safe_outputs
from ycpipelines.deid.records import Deidentified
from ycpipelines.deid.resources import DeidResource
from ycpipelines.foundation.keys import Layer, safe_key, std_key
from ycpipelines.foundation.lake import Partition
from ycpipelines.foundation.metadata import lineage, schema
from ycpipelines.foundation.partitions import dataset_partitions
from ycpipelines.foundation.ranges import Event, materialize_each, ranged
from ycpipelines.foundation.resources import LakeResource


def safe_columns(dataset: Dataset, key_version: str | None) -> list[tuple[str, str, str]]:
    """(name, type, description) of each safe/ column; pseudonyms name their key version once
    a run knows it."""
    return [
        (
            name,
            kind,
            f"{f.label} · {f.role} · {f.policy}"
            + (f" (key {key_version})" if key_version and f.policy == Policy.PSEUDONYMIZE else "")
            + f" · {f.safe_level} {f.safe_level.label}",
        )
        for f, name, _, kind in safe_outputs(dataset)
    ]


def materialized(found: Deidentified, dataset: Dataset) -> dg.MaterializeResult:
    """A partition's metadata (schema with the key version, re-identification figures) and its
    three check results."""
    balance = reconciled(found)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": found.rows,
            "dagster/column_schema": schema(safe_columns(dataset, found.key_version)),
            "pseudonym_key_version": found.key_version,
            "reidentification": dg.MetadataValue.json(found.figures.metadata()),
            **balance.metadata,
            **found.outcome,
            "dagster/column_lineage": lineage(
                {name: [(std_key(dataset), f.name)] for f, name, _, _ in safe_outputs(dataset)}
            ),
        },
        check_results=[residual(found, dataset), k_anonymity(found, dataset), balance],
    )


def safe_asset(catalog: Catalog, dataset: Dataset) -> dg.AssetsDefinition:
    key = safe_key(dataset)
    partitions = dataset_partitions(catalog, dataset)

    @dg.asset(
        key=key,
        deps=[std_key(dataset)],
        partitions_def=partitions,
        group_name=Layer.SAFE.value,
        owners=["team:privacy"],
        kinds={"duckdb", "parquet", "presidio"},
        code_version=catalog.versions[dataset.id],
        description=f"脱敏 De-identify: {dataset.label} under the catalog's column policies "
        "(keyed pseudonyms, masking, generalization, suppression, Presidio redaction of free "
        "text); dropped fields never reach it.",
        metadata={
            "dagster/column_schema": schema(safe_columns(dataset, None)),
            "policies": dg.MetadataValue.json({f.name: str(f.policy) for f in dataset.fields}),
            "roles": dg.MetadataValue.json({f.name: str(f.role) for f in dataset.fields}),
            "quasi_identifiers": ", ".join(dataset.safe_columns_with(Role.QUASI)),
        },
        check_specs=check_specs(dataset, key, partitions),
    )
    def de_identify(
        context: dg.AssetExecutionContext, lake: LakeResource, deid: DeidResource
    ) -> Iterator[Event]:
        def one(partition: Partition) -> dg.MaterializeResult:
            found = deidentify_partition(
                dataset, partition, lake=lake.lake, key=deid.key, run_id=context.run_id
            )
            return materialized(found, dataset)

        yield from materialize_each(context, one)

    return ranged(de_identify)
