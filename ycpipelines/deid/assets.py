"""脱敏 De-identify: `safe/<dataset>` per partition, with blocking privacy checks."""

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset, Policy, Role, Thresholds
from ycpipelines.deid.anonymity import K_ANONYMITY, anonymity, k_anonymity_check
from ycpipelines.deid.policies import deidentify, safe_outputs
from ycpipelines.deid.privacy import RESIDUAL_IDENTIFIERS, residual_check, residual_identifiers
from ycpipelines.deid.resources import DeidResource
from ycpipelines.foundation.keys import safe_key, std_key
from ycpipelines.foundation.lake import commit_or_reject, duck
from ycpipelines.foundation.metadata import RECONCILED, lineage, reconciliation, schema
from ycpipelines.foundation.partitions import dataset_partitions, partition_check, partition_of
from ycpipelines.foundation.resources import LakeResource

# Where an identifier could hide; values validated against a code standard (USCC, ICD-10,
# money, dates) are that code, not a person's identifier.
FREE_FORM = {None, "text", "person_name"}


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


def safe_asset(catalog: Catalog, dataset: Dataset) -> dg.AssetsDefinition:
    key = safe_key(dataset)
    partitions = dataset_partitions(catalog, dataset)
    scanned = [
        f.safe_column
        for f in dataset.fields
        if f.policy not in (Policy.DROP, Policy.PSEUDONYMIZE) and f.standard in FREE_FORM
    ]
    quasi = dataset.safe_columns_with(Role.QUASI)
    required = Thresholds(k=dataset.k, max_risk=1 / dataset.k, average_risk=1.0)
    enforced = "blocks" if dataset.enforce_k else "measured; products enforce k"

    @dg.asset(
        key=key,
        deps=[std_key(dataset)],
        partitions_def=partitions,
        group_name="safe",
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
            "quasi_identifiers": ", ".join(quasi),
        },
        check_specs=[
            partition_check(
                RESIDUAL_IDENTIFIERS,
                key,
                partitions,
                "no resident ID, mobile, bank card, credit code, e-mail or passport number "
                "left in any free-form column",
            ),
            partition_check(
                K_ANONYMITY,
                key,
                partitions,
                f"classes over {quasi} hold at least k={dataset.k} people ({enforced})",
            ),
            partition_check(
                RECONCILED,
                key,
                partitions,
                "rows standardized = rows de-identified, before commit",
            ),
        ],
    )
    def de_identify(
        context: dg.AssetExecutionContext, lake: LakeResource, deid: DeidResource
    ) -> dg.MaterializeResult:
        partition = partition_of(context)
        std = lake.lake.file("std", dataset.id, partition)
        pseudonym_key = deid.key
        with duck() as con, lake.lake.staging(context.run_id) as stage:
            safe = stage.path(lake.lake.file("safe", dataset.id, partition))
            std_rows = con.execute(f"SELECT count(*) FROM read_parquet('{std}')").fetchone()[0]
            rows = deidentify(con, dataset, std, safe, pseudonym_key)
            leaks = {c: n for c, n in residual_identifiers(con, safe, scanned).items() if n}
            figures = anonymity(
                con,
                f"read_parquet('{safe}')",
                quasi,
                dataset.k,
                subject=dataset.subject,
            )
            k_passed = figures.meets(required) or not dataset.enforce_k
            balance = reconciliation(std_rows, {"de-identified": rows})
            outcome = commit_or_reject(stage, not leaks and k_passed and balance.passed)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "dagster/column_schema": schema(safe_columns(dataset, pseudonym_key.version)),
                "pseudonym_key_version": pseudonym_key.version,
                "reidentification": dg.MetadataValue.json(figures.metadata()),
                **balance.metadata,
                **outcome,
                "dagster/column_lineage": lineage(
                    {name: [(std_key(dataset), f.name)] for f, name, _, _ in safe_outputs(dataset)}
                ),
            },
            check_results=[
                residual_check(scanned, leaks),
                k_anonymity_check(figures, quasi, required, dataset.enforce_k),
                balance,
            ],
        )

    return de_identify
