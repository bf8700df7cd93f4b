"""Backfills as bureaus use them (补采): a bureau's days, collected → governed → de-identified,
submitted to the Dagster instance as a real backfill that the daemon runs: by `ycp backfill`
(an operator), or by the `bureau_backfills` sensor for the requests bureaus file in the
registry from the console (`request_backfill`: only their own datasets' partitions)."""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.utils import make_new_backfill_id

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.foundation.keys import Layer, raw_key, safe_key, std_key
from ycpipelines.foundation.partitions import (
    BUREAU_TAG,
    PARTITION_RUN_TAGS,
    dataset_partitions,
    days_between,
    partition_key,
)
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.bureau_models import BackfillRequest

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph

BACKFILL_TAG = "dagster/backfill"
REQUEST_TAG = "ycp/backfill_request"  # the registry's request a sensor-submitted backfill serves
UNFINISHED = (BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING, BulkActionStatus.FAILING)
# The rows each finished run of an unfinished backfill collected, kept between the sensor's
# ticks (a finished run's rows never change): a tick reads only the newly finished runs' logs.
FINISHED_ROWS: dict[str, dict[str, int]] = {}
Committed = frozenset[tuple[str, str]]  # a run's committed raw partitions: (asset, partition key)
FINISHED_PARTITIONS: dict[str, dict[str, Committed]] = {}  # and the raw partitions it committed


def partition_days(catalog: Catalog, dataset: Dataset) -> tuple[date, date]:
    """The first and the last day a dataset's partitions have now: from the catalog's start
    date to the last day that has ended in Asia/Shanghai."""
    daily = next(
        d.partitions_def
        for d in dataset_partitions(catalog, dataset).partitions_defs
        if d.name == "date"
    )
    first, last = daily.get_first_partition_key(), daily.get_last_partition_key()
    if first is None or last is None:
        raise ValueError(f"no day has ended since the pilot's start {catalog.start_date}")
    return date.fromisoformat(first), date.fromisoformat(last)


def check_days(catalog: Catalog, dataset: Dataset, first: date, last: date) -> None:
    """Refuse days the partitions do not have (before the start, or not yet ended)."""
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    start, end = partition_days(catalog, dataset)
    if first < start or last > end:
        raise ValueError(
            f"days {first}..{last} are outside the partitions {start}..{end} "
            "(the pilot's start to the last ended day, Asia/Shanghai)"
        )


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
    graph = defs.resolve_asset_graph()
    return add_backfill(instance, graph, catalog, bureau, (first, last), datasets or [], {})


def chosen_datasets(catalog: Catalog, bureau: str, datasets: list[str]) -> list[Dataset]:
    """The bureau's datasets a backfill covers: all, or those of `datasets` it delivers."""
    chosen = [
        d for d in catalog.datasets if d.bureau == bureau and (not datasets or d.id in datasets)
    ]
    if not chosen:
        raise ValueError(f"bureau {bureau!r} delivers none of {datasets or 'the catalog'}")
    return chosen


def add_backfill(
    instance: dg.DagsterInstance,
    graph: "BaseAssetGraph",
    catalog: Catalog,
    bureau: str,
    days: tuple[date, date],
    datasets: list[str],
    tags: dict[str, str],
) -> str:
    """Add to the instance a backfill of `bureau`'s datasets (all, or `datasets`) for `days`."""
    first, last = days
    chosen = chosen_datasets(catalog, bureau, datasets)
    check_days(catalog, chosen[0], first, last)
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(),
        asset_graph=graph,
        partition_names=[partition_key(bureau, day) for day in days_between(first, last)],
        asset_selection=[k for d in chosen for k in (raw_key(d), std_key(d), safe_key(d))],
        backfill_timestamp=time.time(),
        tags={BUREAU_TAG: bureau, **PARTITION_RUN_TAGS, **tags},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=f"补采 {bureau} {first}..{last}",
        description=f"{', '.join(d.id for d in chosen)}: collect → govern → de-identify",
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id


def request_backfill(
    store: Registry, catalog: Catalog, actor: str, dataset: str, first: date, last: date
) -> BackfillRequest:
    """A bureau's request (补采申请) for its own dataset's days, recorded in the registry for the
    `bureau_backfills` sensor: another bureau's dataset, or none, is `NotFound`; days the
    partitions do not have are a `RegistryError`."""
    owner = next((d for d in catalog.datasets if d.id == dataset), None)
    store.require_bureau(actor, owner.bureau if owner else "", dataset)
    assert owner is not None  # require_bureau raised for an unknown dataset
    try:
        check_days(catalog, owner, first, last)
    except ValueError as error:
        raise RegistryError(str(error)) from error
    return store.request_backfill(actor, catalog, dataset=dataset, first=first, last=last)


def serve_requests(
    store: Registry, instance: dg.DagsterInstance, graph: "BaseAssetGraph", catalog: Catalog
) -> int:
    """Submit the requested backfills and record the progress of the submitted ones (the
    sensor's work); returns how many it submitted."""
    submitted = 0
    for found in store.open_backfills():
        if found.status == "requested":
            tags = {REQUEST_TAG: str(found.id), "ycp/requested_by": found.requested_by}
            days = (found.first, found.last)
            try:
                backfill_id = add_backfill(
                    instance, graph, catalog, found.bureau, days, [found.dataset], tags
                )
            except ValueError:
                store.backfill_progress(found.id, done=0, failed=0, rows=0, finished=True, ok=False)
                continue
            store.backfill_submitted(found.id, backfill_id)
            submitted += 1
        elif found.backfill_id:
            rows = FINISHED_ROWS.setdefault(found.backfill_id, {})
            partitions = FINISHED_PARTITIONS.setdefault(found.backfill_id, {})
            state = backfill_state(instance, found.backfill_id, rows, partitions)
            if state.finished:
                FINISHED_ROWS.pop(found.backfill_id, None)
                FINISHED_PARTITIONS.pop(found.backfill_id, None)
            store.backfill_progress(
                found.id,
                done=state.days,
                failed=state.failed,
                rows=state.rows,
                finished=state.finished,
                ok=state.ok,
            )
    return submitted


@dataclass(frozen=True)
class BackfillState:
    """Where a backfill stands (补采进度): its runs done and failed (a run does up to a month
    of days), the raw partitions (dataset × day) and the days they committed, the rows."""

    finished: bool
    failed_backfill: bool
    done: int
    failed: int
    rows: int
    partitions: int = 0
    days: int = 0

    @property
    def ok(self) -> bool:
        return self.finished and not self.failed_backfill and not self.failed


def raw_of(
    materializations: Iterable[dg.AssetMaterialization | None],
) -> list[dg.AssetMaterialization]:
    """The raw/ materializations among a run's."""
    return [m for m in materializations if m and m.asset_key.path[0] == Layer.RAW]


def rows_collected(materializations: Iterable[dg.AssetMaterialization | None]) -> int:
    """Rows a run collected: the row counts of its raw/ materializations."""
    total = 0
    for materialization in raw_of(materializations):
        count = materialization.metadata.get("dagster/row_count")
        total += int(count.value) if count is not None else 0  # type: ignore[arg-type]
    return total


def partitions_committed(materializations: Iterable[dg.AssetMaterialization | None]) -> Committed:
    """The raw partitions a run committed: a day of a range that failed, or was kept aside, is
    materialized too, with `committed` False."""
    return frozenset(
        (m.asset_key.to_user_string(), m.partition or "")
        for m in raw_of(materializations)
        if (flag := m.metadata.get("committed")) is not None and flag.value is True
    )


def collected(instance: dg.DagsterInstance, run_id: str) -> tuple[int, Committed]:
    """Rows a finished run collected, and the raw partitions it committed."""
    logs = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    found = [entry.asset_materialization for entry in logs]
    return rows_collected(found), partitions_committed(found)


def backfill_state(
    instance: dg.DagsterInstance,
    backfill_id: str,
    rows: dict[str, int],
    partitions: dict[str, Committed] | None = None,
) -> BackfillState:
    """Read the backfill and its runs; `rows` and `partitions` cache each finished run's rows
    and committed partitions (without a `partitions` cache every finished run is read again)."""
    backfill = instance.get_backfill(backfill_id)
    if backfill is None:
        raise ValueError(f"no backfill {backfill_id}")
    partitions = {} if partitions is None else partitions
    runs = instance.get_runs(filters=dg.RunsFilter(tags={BACKFILL_TAG: backfill_id}))
    finished = [r for r in runs if r.is_finished]
    for run in finished:
        if run.run_id not in rows or run.run_id not in partitions:
            rows[run.run_id], partitions[run.run_id] = collected(instance, run.run_id)
    done = frozenset().union(*(partitions[r.run_id] for r in finished))
    return BackfillState(
        finished=backfill.status not in UNFINISHED and len(finished) == len(runs),
        failed_backfill=backfill.status
        in (BulkActionStatus.FAILED, BulkActionStatus.COMPLETED_FAILED, BulkActionStatus.CANCELED),
        done=len(finished),
        failed=sum(r.status != dg.DagsterRunStatus.SUCCESS for r in finished),
        rows=sum(rows[r.run_id] for r in finished),
        partitions=len(done),
        days=len({partition for _, partition in done}),
    )
