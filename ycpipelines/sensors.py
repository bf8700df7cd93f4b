"""Cross-dataset checks run by themselves (一数一源, journalist risk): for each dataset with checks
that read another dataset, the sensor `cross_checks_<dataset>` requests `check_<dataset>` for a
day's partition when its safe/ is committed, and again when an asset its checks read (std/ of an
authority, safe/ of the population register) commits that day: whichever bureau delivers first,
the day is checked once both are in, as the demo checks it after ingesting everything.

The cursor holds, per watched asset, the storage id of the last materialization read from the
event log, so a tick reads only what is new, however long the history; a sensor starts from the
newest (days committed before it started are checked by a backfill of `check_<dataset>`). One run
key per triggering materialization: a tick evaluated again requests nothing twice, and a day
collected again is checked again.
"""

import json

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.foundation.environment import is_prod
from ycpipelines.foundation.keys import safe_key
from ycpipelines.foundation.partitions import dataset_partitions, partition_key, partition_tags
from ycpipelines.foundation.settings import Settings
from ycpipelines.jobs import check_job_name, cross_check_inputs, cross_checks

BATCH = 500  # materializations read per watched asset and tick; the rest on the next one


def sensor_name(dataset: Dataset) -> str:
    return f"cross_checks_{dataset.id}"


def committed(record: dg.EventLogRecord) -> bool:
    """False for a day its range run failed: Dagster records the whole range materialized, the
    day with `committed: False` (`foundation.ranges.materialize_each`), and the lake lacks it."""
    event = record.asset_materialization
    value = event.metadata.get("committed") if event else None
    return getattr(value, "value", value) is not False


Watched = list[tuple[dg.AssetKey, dg.PartitionsDefinition]]  # an asset and its partitions


def day_of(partitions: dg.PartitionsDefinition, key: str | None) -> str | None:
    """The day of a bureau × day partition key; None for a key of another shape (skipped: one
    odd key in the event log must not stop the sensor)."""
    try:
        return partitions.get_partition_key_from_str(key or "").keys_by_dimension["date"]
    except Exception:  # Dagster raises its CheckError for a key without both dimensions
        return None


def newer(
    instance: dg.DagsterInstance, key: dg.AssetKey, after: int | None
) -> list[dg.EventLogRecord]:
    """`key`'s materializations after storage id `after`, oldest first, at most BATCH."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=BATCH, ascending=True
    )
    return list(records.records)


def is_in_lake(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> bool:
    """Whether `partition` of `key` was materialized and its latest materialization committed."""
    latest = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    return bool(latest) and committed(latest[0])


def starts(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> dict[str, int]:
    """Where watching `keys` starts: each one's newest materialization (0 for none yet)."""
    found = {}
    for key in keys:
        newest = instance.fetch_materializations(key, limit=1).records
        found[key.to_user_string()] = newest[0].storage_id if newest else 0
    return found


def due_checks(
    instance: dg.DagsterInstance, dataset: Dataset, watched: Watched, cursor: dict[str, int]
) -> tuple[list[dg.RunRequest], dict[str, int]]:
    """The check runs due for materializations after `cursor`, one per day (for the latest
    event making it due), and the cursor after them. A day is due when its safe/ is committed,
    or when an input (the rest of `watched`) commits that day while the dataset's day is in the
    lake. The partition goes as run tags: a job of checks only takes no `partition_key`
    (`partition_tags`)."""
    own = safe_key(dataset)
    due: dict[str, int] = {}  # day → storage id of the materialization that made it due
    after = dict(cursor)
    for key, partitions in watched:
        records = newer(instance, key, cursor.get(key.to_user_string()))
        for record in records:
            day = day_of(partitions, record.partition_key)
            if day is None or not committed(record):
                continue
            ours = str(partition_key(dataset.bureau, day))
            if key == own or is_in_lake(instance, own, ours):
                due[day] = max(due.get(day, 0), record.storage_id)
        if records:
            after[key.to_user_string()] = records[-1].storage_id
    requests = [
        dg.RunRequest(
            run_key=f"{partition_key(dataset.bureau, day)}:{storage_id}",
            tags=partition_tags(dataset.bureau, day),
        )
        for day, storage_id in sorted(due.items())
    ]
    return requests, after


def cross_check_sensor(
    catalog: Catalog, dataset: Dataset, status: dg.DefaultSensorStatus
) -> dg.SensorDefinition:
    """The sensor requesting `check_<dataset>` for each day its inputs complete."""
    inputs = [(safe_key(dataset), dataset), *cross_check_inputs(catalog, dataset)]
    watched = [(key, dataset_partitions(catalog, source)) for key, source in inputs]

    def tick(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        before = json.loads(context.cursor) if context.cursor else {}
        unseen = [k for k, _ in watched if k.to_user_string() not in before]
        cursor = before | starts(context.instance, unseen)
        requests, after = due_checks(context.instance, dataset, watched, cursor)
        if after == before:
            return dg.SkipReason("nothing materialized since the last tick")
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(after, sort_keys=True))

    return dg.SensorDefinition(
        name=sensor_name(dataset),
        job_name=check_job_name(dataset),
        evaluation_fn=tick,
        minimum_interval_seconds=30,
        default_status=status,
        description=f"{dataset.label}: runs the checks against other datasets (一数一源, "
        "journalist risk) on each day once the dataset and what the checks read are committed",
    )


def sensors(catalog: Catalog, settings: Settings | None = None) -> list[dg.SensorDefinition]:
    """One per dataset with cross-dataset checks; running by default in production only (the
    demo runs its checks itself, after ingesting every dataset)."""
    status = dg.DefaultSensorStatus.RUNNING if is_prod(settings) else dg.DefaultSensorStatus.STOPPED
    return [
        cross_check_sensor(catalog, d, status) for d in catalog.datasets if cross_checks(catalog, d)
    ]
