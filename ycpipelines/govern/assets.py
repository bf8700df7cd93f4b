"""治理 Govern: `std/<dataset>` (standardized, quality-gated) and its quarantine per partition."""

import hashlib
from typing import Any

import dagster as dg
from upath import UPath

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.collect.guard import committed_rows, refusal, shrinks
from ycpipelines.foundation.feedback import quarantine_findings
from ycpipelines.foundation.keys import raw_key, std_key
from ycpipelines.foundation.lake import Partition, commit_or_reject, duck
from ycpipelines.foundation.metadata import (
    RECONCILED,
    lineage,
    reconciliation,
    schema,
)
from ycpipelines.foundation.partitions import dataset_partitions, partition_check, partition_of
from ycpipelines.foundation.resources import LakeResource
from ycpipelines.govern.gate import GateResult, previous_rows, validate
from ycpipelines.govern.standardize import route
from ycpipelines.govern.suites import load_suite
from ycpipelines.registry import Registry
from ycpipelines.registry.resource import RegistryResource

QUALITY_GATE = "quality_gate"
QUARANTINE_SHARE = "quarantine_share"
NO_SHRINK = "no_shrink_vs_committed"


def shrink_gate(
    gate: GateResult, store: Registry, dataset: Dataset, partition: Partition, committed: UPath
) -> tuple[GateResult, dict[str, Any] | None]:
    """The gate, failed when the new version shrinks the committed one without the operator's
    decision on its raw/ partition; with that decision, what to audit for std/."""
    before = committed_rows(committed)
    if not shrinks(before, gate.rows):
        return gate, None
    decision = store.shrink_accepted(
        dataset=dataset.id, bureau=partition.bureau, day=partition.date
    )
    if decision is None:
        return gate.adding(NO_SHRINK, False, refusal(f"std/{dataset.id}", before, gate.rows)), None
    detail = f"accepted by {decision.actor} for run {decision.detail['run_id']}"
    accepted = {
        "dataset": dataset.id,
        "bureau": partition.bureau,
        "day": partition.date,
        "actor": decision.actor,
        "before": before,
        "after": gate.rows,
    }
    return gate.adding(NO_SHRINK, True, detail), accepted


def std_asset(catalog: Catalog, dataset: Dataset) -> dg.AssetsDefinition:
    suite = load_suite(dataset)
    standards_version = hashlib.sha256(
        "".join(
            catalog.versions[f"standard:{name}"]
            for name in sorted({f.standard or "text" for f in dataset.fields})
        ).encode()
    ).hexdigest()[:8]
    key = std_key(dataset)
    partitions = dataset_partitions(catalog, dataset)
    bureau = catalog.bureau(dataset.bureau)

    @dg.asset(
        key=key,
        deps=[raw_key(dataset)],
        partitions_def=partitions,
        group_name="std",
        owners=[bureau.owner, "team:governance"],
        kinds={"duckdb", "parquet"},
        code_version=f"{catalog.versions[dataset.id]}-{suite.version}-{standards_version}",
        description=f"治理 Govern: {dataset.label}, standardized (一数一源一标准); rows failing "
        "row-level rules are quarantined with rule and reason; a Great Expectations suite "
        "gates it.",
        metadata={
            "dagster/column_schema": schema(dataset.source_columns(typed=True)),
            "expectation_suite": f"expectations/{dataset.id}.json",
        },
        check_specs=[
            partition_check(
                QUALITY_GATE,
                key,
                partitions,
                f"Great Expectations suite {suite.name}, run on the partition in DuckDB; "
                "with schema, primary-key uniqueness and row-count collapse gates",
            ),
            partition_check(
                QUARANTINE_SHARE,
                key,
                partitions,
                "quarantined share within the catalog's threshold "
                f"({dataset.quarantine_threshold:.0%})",
            ),
            partition_check(
                RECONCILED,
                key,
                partitions,
                "rows collected = rows standardized + rows quarantined, before commit",
            ),
        ],
    )
    def govern(
        context: dg.AssetExecutionContext, lake: LakeResource, registry: RegistryResource
    ) -> dg.MaterializeResult:
        partition = partition_of(context)
        with duck() as con, lake.lake.staging(context.run_id) as stage:
            std_path = stage.path(lake.lake.file("std", dataset.id, partition))
            quarantine_path = stage.path(
                lake.lake.file("quarantine", dataset.id, partition, "govern")
            )
            routed = route(
                con,
                catalog,
                dataset,
                raw=lake.lake.file("raw", dataset.id, partition),
                day=partition.date,
                std_path=std_path,
                quarantine_path=quarantine_path,
                run_id=context.run_id,
            )
            findings = quarantine_findings(con, quarantine_path, dataset)
            gate = validate(
                std_path,
                suite,
                dataset,
                partition,
                previous_rows(lake.lake, dataset.id, partition),
            )
            gate, accepted = shrink_gate(
                gate,
                registry.registry,
                dataset,
                partition,
                lake.lake.file("std", dataset.id, partition),
            )
            share = routed.quarantined / routed.collected if routed.collected else 0.0
            share_ok = share <= dataset.quarantine_threshold
            balance = reconciliation(
                routed.collected,
                {"standardized": routed.standardized, "quarantined": routed.quarantined},
            )
            outcome = commit_or_reject(stage, gate.success and share_ok and balance.passed)
        if accepted and outcome["committed"]:
            registry.registry.accept_shrink(
                layer="std",
                run_id=context.run_id,
                **accepted,
            )
        tickets = registry.registry.sync_tickets(
            dataset=dataset.id,
            bureau=partition.bureau,
            day=partition.date,
            stage="govern",
            run_id=context.run_id,
            found=findings,
            clean=gate.success and share_ok and balance.passed,
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": routed.standardized,
                "collected": routed.collected,
                "quarantined": routed.quarantined,
                **balance.metadata,
                "quarantined_by_rule": dg.MetadataValue.json(routed.by_rule),
                "tickets": dg.MetadataValue.json(tickets),
                **outcome,
                "dagster/column_lineage": lineage(
                    {f.name: [(raw_key(dataset), f.name)] for f in dataset.fields}
                ),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=QUALITY_GATE,
                    passed=gate.success,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata=gate.metadata(),
                ),
                dg.AssetCheckResult(
                    check_name=QUARANTINE_SHARE,
                    passed=share_ok,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={
                        "quarantined_share": share,
                        "threshold": dataset.quarantine_threshold,
                    },
                ),
                balance,
            ],
        )

    return govern
