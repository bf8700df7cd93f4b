"""Cross-dataset checks run by themselves (一数一源, journalist risk): for each dataset with checks
that read another dataset, the sensor `cross_checks_<dataset>` requests `check_<dataset>` for every
partition whose safe/ was materialized since its cursor, so the days a daily collection or a
backfill commits are checked as the demo checks them, after the ingest run that made them.

The cursor is the storage id of the last materialization read from the event log, so a tick reads
only what is new, however long the history. One run key per materialization: a tick evaluated
again requests nothing twice, and a day collected again is checked again.
"""

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.foundation.environment import is_prod
from ycpipelines.foundation.keys import safe_key
from ycpipelines.foundation.partitions import dataset_partitions, partition_tags
from ycpipelines.foundation.settings import Settings
from ycpipelines.jobs import check_job_name, cross_checks

BATCH = 500  # materializations read per tick; the rest on the next one


def sensor_name(dataset: Dataset) -> str:
    return f"cross_checks_{dataset.id}"


def committed(record: dg.EventLogRecord) -> bool:
    """False for a day its range run failed: Dagster records the whole range materialized, the
    day with `committed: False` (`foundation.ranges.materialize_each`), and the lake lacks it."""
    event = record.asset_materialization
    value = event.metadata.get("committed") if event else None
    return getattr(value, "value", value) is not False


def due_checks(
    instance: dg.DagsterInstance,
    partitions: dg.MultiPartitionsDefinition,
    dataset: Dataset,
    cursor: str | None,
) -> tuple[list[dg.RunRequest], str | None]:
    """The check runs due for safe/ materializations after `cursor` (one per partition, for its
    latest), and the cursor after them. The partition goes as run tags: a job of checks only
    takes no `partition_key` (`partition_tags`)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=safe_key(dataset), after_storage_id=int(cursor) if cursor else None
        ),
        limit=BATCH,
        ascending=True,
    ).records
    latest = {r.partition_key: r.storage_id for r in records if r.partition_key and committed(r)}
    requests = []
    for partition, storage_id in latest.items():
        key = partitions.get_partition_key_from_str(partition).keys_by_dimension
        tags = partition_tags(key["bureau"], key["date"])
        requests.append(dg.RunRequest(run_key=f"{partition}:{storage_id}", tags=tags))
    return requests, str(records[-1].storage_id) if records else cursor


def cross_check_sensor(
    catalog: Catalog, dataset: Dataset, status: dg.DefaultSensorStatus
) -> dg.SensorDefinition:
    """The sensor requesting `check_<dataset>` after each ingest of a partition."""
    partitions = dataset_partitions(catalog, dataset)

    def tick(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        requests, cursor = due_checks(context.instance, partitions, dataset, context.cursor)
        if cursor == context.cursor:
            return dg.SkipReason(f"no safe/{dataset.id} partition materialized since the last tick")
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return dg.SensorDefinition(
        name=sensor_name(dataset),
        job_name=check_job_name(dataset),
        evaluation_fn=tick,
        minimum_interval_seconds=30,
        default_status=status,
        description=f"{dataset.label}: runs the checks against other datasets (一数一源, "
        "journalist risk) on each partition an ingest run commits",
    )


def sensors(catalog: Catalog, settings: Settings | None = None) -> list[dg.SensorDefinition]:
    """One per dataset with cross-dataset checks; running by default in production only (the
    demo runs its checks itself, after ingesting every dataset)."""
    status = dg.DefaultSensorStatus.RUNNING if is_prod(settings) else dg.DefaultSensorStatus.STOPPED
    return [
        cross_check_sensor(catalog, d, status) for d in catalog.datasets if cross_checks(catalog, d)
    ]
