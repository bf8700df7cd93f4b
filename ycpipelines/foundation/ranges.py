"""A run's partitions (批次范围): one bureau × day, or a range of days a backfill gave one run.

Backfills run `RANGE_DAYS` days per run (`dg.BackfillPolicy.multi_run`): a year is a dozen runs
per bureau instead of 365, each paying once what Dagster costs per run (a process that loads the
code location). Inside a run every partition is still done, recorded and checked on its own:
`materialize_each` and `check_each` call the stage's plain per-partition function for each day
and report that day's metadata and check results under its partition key. A day that raises in a
range is reported as not committed and the others go on; the step fails at the end with the
first error (a run of one partition raises at once, as before).
"""

from collections.abc import Callable, Iterator
from typing import TypeVar

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from ycpipelines.foundation.lake import Partition
from ycpipelines.foundation.metadata import process_usage

RANGE_DAYS = 31  # days per backfill run: a month
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=RANGE_DAYS)

Result = TypeVar("Result")
Event = dg.AssetCheckEvaluation | dg.MaterializeResult | dg.Output


def ranged(asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """The asset, backfilled `RANGE_DAYS` days per run."""
    return asset.with_attributes(backfill_policy=BACKFILL_POLICY)


def partitions_of(context: dg.OpExecutionContext) -> list[tuple[str, Partition]]:
    """The run's partition keys with their bureau × day, in day order."""
    keys = context.partition_keys
    return [(key, Partition(**key.keys_by_dimension)) for key in keys]  # type: ignore[attr-defined]


class ReportedError(Exception):
    """An error of the pipeline's own whose message names what failed (file, line, column),
    never a source value: a failed day's metadata shows it."""


def failure_text(error: Exception) -> str:
    """What a failed day's metadata says: the pipeline's own failure message, or only the
    error's type (a library's message may quote a source value)."""
    if isinstance(error, dg.Failure) and error.description:
        return error.description
    if isinstance(error, ReportedError):
        return f"{type(error).__name__}: {error}"
    return type(error).__name__


def each(
    context: dg.OpExecutionContext, work: Callable[[Partition], Result]
) -> Iterator[tuple[str, Result | Exception]]:
    """`work` for each partition of the run: its result, or in a range the error it raised."""
    keys = partitions_of(context)
    for key, partition in keys:
        try:
            yield key, work(partition)
        except Exception as error:
            if len(keys) == 1:
                raise
            context.log.error(f"{partition.date}: {failure_text(error)}; the range goes on")
            yield key, error


def target(
    context: dg.OpExecutionContext, asset: dg.AssetKey, key: str
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The day's newest materialization, the one its check result is about (without it Dagster
    shows the result as out of date)."""
    found = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[key]), limit=1
    ).records
    if not found:
        return None
    record = found[0]
    return AssetCheckEvaluationTargetMaterializationData(
        run_id=record.run_id, storage_id=record.storage_id, timestamp=record.timestamp
    )


def evaluation(
    context: dg.OpExecutionContext,
    key: str,
    result: dg.AssetCheckResult,
    check_key: dg.AssetCheckKey,
) -> dg.AssetCheckEvaluation:
    """A check result recorded under the day it checked, about that day's materialization."""
    spec = context.assets_def.get_spec_for_check_key(check_key)
    return dg.AssetCheckEvaluation(
        check_name=check_key.name,
        asset_key=check_key.asset_key,
        passed=result.passed,
        metadata=result.metadata,
        severity=result.severity,
        description=result.description,
        blocking=spec.blocking,
        partition=key,
        target_materialization_data=target(context, check_key.asset_key, key),
    )


def check_outputs(context: dg.OpExecutionContext) -> Iterator[dg.Output]:
    """The step's check outputs (their results were recorded per day)."""
    for check_key in context.selected_asset_check_keys:
        name = context.assets_def.get_output_name_for_asset_check_key(check_key)
        yield dg.Output(None, output_name=name)


def materialize_each(
    context: dg.AssetExecutionContext, work: Callable[[Partition], dg.MaterializeResult]
) -> Iterator[Event]:
    """Materialize each partition of the run with `work`: its metadata (and what it used) goes
    under its key, then its check results, recorded once the materializations are."""
    op, checks, failure = context.op_execution_context, [], None
    for key, outcome in each(op, lambda p: (process_usage(), work(p))):
        if isinstance(outcome, Exception):
            failure = failure or outcome
            context.add_asset_metadata(
                {"committed": False, "failure": failure_text(outcome)}, partition_key=key
            )
            continue
        started, result = outcome
        metadata = {**(result.metadata or {}), **process_usage(started)}
        context.add_asset_metadata(metadata, partition_key=key)
        for check in result.check_results:
            check_key = dg.AssetCheckKey(context.asset_key, check.check_name or "")
            if check_key in op.selected_asset_check_keys:
                checks.append((key, check, check_key))
    yield dg.MaterializeResult()
    for key, check, check_key in checks:
        yield evaluation(op, key, check, check_key)
    yield from check_outputs(op)
    if failure is not None:
        raise failure


def beside_its_asset(context: dg.OpExecutionContext, check_key: dg.AssetCheckKey) -> bool:
    """Whether the run also materializes the asset the check is about (a backfill adds every
    check of the assets it targets to its runs)."""
    return check_key.asset_key in (context.run.asset_selection or frozenset())


def check_each(
    context: dg.AssetCheckExecutionContext,
    check_key: dg.AssetCheckKey,
    work: Callable[[Partition], dg.AssetCheckResult],
    *,
    after_ingest: bool = False,
) -> Iterator[Event]:
    """Run a partitioned check on each partition of the run, each result under its day.
    An `after_ingest` check (one reading another dataset) is evaluated only in a run of its own,
    after both datasets are ingested: beside its asset, in a backfill, it only closes its output."""
    op, failure = context.op_execution_context, None
    if after_ingest and beside_its_asset(op, check_key):
        op.log.info(f"{check_key.name}: evaluated by its own check job, after ingestion")
        yield from check_outputs(op)
        return
    for key, outcome in each(op, work):
        if isinstance(outcome, Exception):
            failure = failure or outcome
        else:
            yield evaluation(op, key, outcome, check_key)
    yield from check_outputs(op)
    if failure is not None:
        raise failure
