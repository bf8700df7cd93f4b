"""The govern stage's checks (质量门禁): the quality gate with its shrink guard, the quarantined
share, and the reconciliation of rows collected against rows routed."""

from typing import Any

import dagster as dg
from upath import UPath

from ycpipelines.catalog import Dataset
from ycpipelines.collect.guard import committed_rows, refusal, shrinks
from ycpipelines.foundation.lake import Partition
from ycpipelines.foundation.metadata import RECONCILED, reconciliation
from ycpipelines.foundation.partitions import partition_check
from ycpipelines.govern.gate import GateResult
from ycpipelines.govern.records import Routed
from ycpipelines.govern.suites import Suite
from ycpipelines.registry import Registry

QUALITY_GATE = "quality_gate"
QUARANTINE_SHARE = "quarantine_share"
NO_SHRINK = "no_shrink_vs_committed"


def check_specs(
    dataset: Dataset, suite: Suite, key: dg.AssetKey, partitions: dg.PartitionsDefinition
) -> list[dg.AssetCheckSpec]:
    """The blocking checks of a `std/` asset, kept per partition."""
    return [
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
    ]


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


def quarantined_share(routed: Routed) -> float:
    return routed.quarantined / routed.collected if routed.collected else 0.0


def share_within(routed: Routed, dataset: Dataset) -> bool:
    """The quarantined share stays within the catalog's threshold for the dataset."""
    return quarantined_share(routed) <= dataset.quarantine_threshold


def reconciled(routed: Routed) -> dg.AssetCheckResult:
    """Rows collected = rows standardized + rows quarantined (对账), judged before the commit."""
    return reconciliation(
        routed.collected,
        {"standardized": routed.standardized, "quarantined": routed.quarantined},
    )


def passed(gate: GateResult, routed: Routed, dataset: Dataset) -> bool:
    """Whether every blocking check passed, so the partition may be committed."""
    return gate.success and share_within(routed, dataset) and reconciled(routed).passed


def quality_gate(gate: GateResult) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=QUALITY_GATE,
        passed=gate.success,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=gate.metadata(),
    )


def quarantine_share(routed: Routed, dataset: Dataset) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=QUARANTINE_SHARE,
        passed=share_within(routed, dataset),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "quarantined_share": quarantined_share(routed),
            "threshold": dataset.quarantine_threshold,
        },
    )
