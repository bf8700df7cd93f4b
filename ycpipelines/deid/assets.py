"""脱敏 De-identify: `safe/<dataset>` per partition, with a blocking residual-identifier check."""

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset, Policy
from ycpipelines.collect.partitions import dataset_partitions, partition_check, partition_of
from ycpipelines.deid.grading import grading_checks
from ycpipelines.deid.policies import deidentify
from ycpipelines.deid.privacy import RESIDUAL_IDENTIFIERS, residual_check, residual_identifiers
from ycpipelines.govern.assets import std_key
from ycpipelines.lake import commit_or_reject, duck
from ycpipelines.metadata import SQL_TYPES, lineage, reconciled, schema
from ycpipelines.resources import DeidResource, LakeResource

# Where an identifier could hide; values validated against a code standard (USCC, ICD-10,
# money, dates) are that code, not a person's identifier.
FREE_FORM = {None, "text", "person_name"}
SAFE_TYPES = {
    Policy.PSEUDONYMIZE: "VARCHAR",
    Policy.BIRTH_YEAR: "BIGINT",
    Policy.COUNTY: "VARCHAR",
    Policy.REDACT_TEXT: "VARCHAR",
}


def safe_key(dataset: Dataset) -> dg.AssetKey:
    return dg.AssetKey(["safe", dataset.id])


def safe_columns(dataset: Dataset) -> list[tuple[str, str, str]]:
    return [
        (
            f.safe_column,
            SAFE_TYPES.get(f.policy, SQL_TYPES[f.type]),
            f"{f.label} · {f.policy} · {f.safe_level} {f.safe_level.label}",
        )
        for f in dataset.fields
        if f.policy != Policy.DROP
    ]


def safe_asset(catalog: Catalog, dataset: Dataset) -> dg.AssetsDefinition:
    key = safe_key(dataset)
    partitions = dataset_partitions(catalog, dataset)
    scanned = [
        f.safe_column
        for f in dataset.fields
        if f.policy not in (Policy.DROP, Policy.PSEUDONYMIZE) and f.standard in FREE_FORM
    ]
    kept = [f for f in dataset.fields if f.policy != Policy.DROP]

    @dg.asset(
        key=key,
        deps=[std_key(dataset)],
        partitions_def=partitions,
        group_name="safe",
        owners=["team:privacy"],
        kinds={"duckdb", "parquet", "presidio"},
        code_version=catalog.versions[dataset.id],
        description=f"脱敏 De-identify: {dataset.label} under the catalog's column policies "
        "(keyed pseudonyms, generalization, Presidio redaction of free text); dropped fields "
        "never reach it.",
        metadata={
            "dagster/column_schema": schema(safe_columns(dataset)),
            "policies": dg.MetadataValue.json({f.name: str(f.policy) for f in dataset.fields}),
        },
        check_specs=[
            partition_check(
                RESIDUAL_IDENTIFIERS,
                key,
                partitions,
                "no resident ID or mobile number left in any free-form column",
            ),
        ],
    )
    def de_identify(
        context: dg.AssetExecutionContext, lake: LakeResource, deid: DeidResource
    ) -> dg.MaterializeResult:
        partition = partition_of(context)
        std = lake.lake.file("std", dataset.id, partition)
        with duck() as con, lake.lake.staging(context.run_id) as stage:
            safe = stage.path(lake.lake.file("safe", dataset.id, partition))
            std_rows = con.execute(f"SELECT count(*) FROM read_parquet('{std}')").fetchone()[0]
            rows = deidentify(con, dataset, std, safe, deid.pseudonym_key)
            leaks = {c: n for c, n in residual_identifiers(con, safe, scanned).items() if n}
            outcome = commit_or_reject(stage, not leaks)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                **reconciled(std_rows, {"de-identified": rows}),
                **outcome,
                "dagster/column_lineage": lineage(
                    {f.safe_column: [(std_key(dataset), f.name)] for f in kept}
                ),
            },
            check_results=[
                residual_check(scanned, leaks),
            ],
        )

    return de_identify


def deid_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(
        assets=[safe_asset(catalog, d) for d in catalog.datasets],
        asset_checks=grading_checks(catalog),
    )
