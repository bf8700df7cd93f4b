"""One collection run (归集) over a dataset's bureau × day partition, outside Dagster: read the
source, stage raw/ and quarantine/, guard and reconcile, commit, then record the watermark and
the feedback tickets."""

from collections.abc import Callable
from datetime import date

import dagster as dg
import duckdb
import pyarrow as pa
from upath import UPath

from ycpipelines.catalog import Dataset
from ycpipelines.catalog.models import SqlSource
from ycpipelines.collect.checks import reconciled
from ycpipelines.collect.collector import write_partition
from ycpipelines.collect.files import read_file
from ycpipelines.collect.guard import guard_raw, missing_delivery
from ycpipelines.collect.reading import Reading
from ycpipelines.collect.records import Collected, Written
from ycpipelines.collect.resources import SourcesResource
from ycpipelines.collect.sql import read_sql
from ycpipelines.foundation.feedback import quarantine_findings
from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.lake import Lake, Partition, Staging, commit_or_reject, duck
from ycpipelines.registry import Registry


def incremental(dataset: Dataset) -> bool:
    """Whether the dataset's source is read after a watermark (增量归集)."""
    source = dataset.source
    return isinstance(source, SqlSource) and source.watermark_column is not None


def open_source(
    dataset: Dataset,
    partition: Partition,
    sources: SourcesResource,
    store: Registry,
    reading: Reading,
    *,
    accept_source_types: bool,
    after: str | None,
) -> pa.RecordBatchReader:
    """The partition's rows as the source delivers them: a SQL query or the day's file."""
    source = dataset.source
    day = date.fromisoformat(partition.date)
    if isinstance(source, SqlSource):
        url = sources.url(source, dataset.bureau)
        baseline = {} if accept_source_types else store.source_columns(dataset.id, partition.bureau)
        return read_sql(url, source, dataset, day, reading, baseline, after)
    return read_file(sources.inbox(source) / day.strftime(source.pattern), source, reading)


def write_staged(
    con: duckdb.DuckDBPyConnection,
    stage: Staging,
    reader: pa.RecordBatchReader,
    reading: Reading,
    *,
    partition: Partition,
    label: str,
    previous: UPath | None,
) -> Written:
    """Write the partition aside; a source whose own count differs from the rows read fails."""
    dataset = reading.dataset
    lake = stage.lake
    written = write_partition(
        con,
        reader,
        reading,
        raw_path=stage.path(lake.file(Layer.RAW, dataset.id, partition)),
        quarantine_path=stage.path(lake.file(Layer.QUARANTINE, dataset.id, partition, "collect")),
        previous=previous,
        bureau=dataset.bureau,
        day=partition.date,
        source=label,
        run_id=stage.run_id,
        watermark_column=dataset.source.watermark_column if incremental(dataset) else None,
    )
    if reading.source_count != written.read:
        raise dg.Failure(
            f"source reported {reading.source_count} rows, {written.read} were "
            "read; the partition was not replaced"
        )
    return written


def stage_partition(
    lake: Lake,
    store: Registry,
    reader: pa.RecordBatchReader,
    reading: Reading,
    *,
    partition: Partition,
    label: str,
    previous: UPath | None,
    run_id: str,
    launcher: Callable[[], str],
    accept_shrink: bool,
) -> tuple[Written, dict[str, object]]:
    """Write the partition aside, refuse an unaccepted shrink, then commit it if its counts
    reconcile (else keep it aside); returns the counts and which of the two happened."""
    committed = lake.file(Layer.RAW, reading.dataset.id, partition)
    with duck() as con, lake.staging(run_id) as stage:
        written = write_staged(
            con, stage, reader, reading, partition=partition, label=label, previous=previous
        )
        guard_raw(
            store,
            dataset=reading.dataset.id,
            partition=partition,
            committed=committed,
            rows=written.rows,
            accept=accept_shrink,
            run_id=run_id,
            launcher=launcher,
        )
        return written, commit_or_reject(stage, reconciled(written).passed)


def record_commit(
    lake: Lake,
    store: Registry,
    partition: Partition,
    reading: Reading,
    written: Written,
    run_id: str,
) -> dict[str, int]:
    """After the commit: the column baseline, watermark and audit entry, then the collect
    stage's feedback tickets (quarantined rules, a missing delivery); returns the tickets."""
    dataset = reading.dataset
    high = written.watermark[1]
    store.commit_collection(
        dataset=dataset.id,
        bureau=partition.bureau,
        day=partition.date,
        run_id=run_id,
        columns=reading.families,
        counts={
            "read": written.read,
            "collected": written.collected,
            "quarantined": written.quarantined,
            "rows": written.rows,
        },
        watermark=(dataset.source.watermark_column, high)
        if incremental(dataset) and high
        else None,
    )
    quarantine = lake.file(Layer.QUARANTINE, dataset.id, partition, "collect")
    with duck() as con:
        return store.sync_tickets(
            dataset=dataset.id,
            bureau=partition.bureau,
            day=partition.date,
            stage="collect",
            run_id=run_id,
            found=quarantine_findings(con, quarantine, dataset)
            | missing_delivery(written.rows, reading.where),
            clean=True,
        )


def collect_partition(
    dataset: Dataset,
    partition: Partition,
    *,
    label: str,
    lake: Lake,
    store: Registry,
    sources: SourcesResource,
    run_id: str,
    launcher: Callable[[], str],
    full_refresh: bool = False,
    accept_source_types: bool = False,
    accept_shrink: bool = False,
) -> Collected:
    """Collect one partition; nothing is committed (nor any watermark or ticket recorded)
    unless its counts reconcile. `launcher` names who launched the run, asked only when a
    shrink is accepted."""
    committed = lake.file(Layer.RAW, dataset.id, partition)
    reading = Reading(dataset, dataset.source.where)
    mark = None
    if incremental(dataset) and not full_refresh and committed.exists():
        mark = store.watermark(dataset.id, partition.bureau, partition.date)
    after = mark.high if mark else None
    reader = open_source(
        dataset,
        partition,
        sources,
        store,
        reading,
        accept_source_types=accept_source_types,
        after=after,
    )
    written, outcome = stage_partition(
        lake,
        store,
        reader,
        reading,
        partition=partition,
        label=label,
        previous=committed if mark else None,
        run_id=run_id,
        launcher=launcher,
        accept_shrink=accept_shrink,
    )
    tickets = (
        record_commit(lake, store, partition, reading, written, run_id)
        if outcome["committed"]
        else None
    )
    return Collected(
        written=written,
        source_count=reading.source_count,
        outcome=outcome,
        incremental_after=after,
        source_types=reading.families,
        new_columns=reading.new_columns,
        tickets=tickets,
    )
