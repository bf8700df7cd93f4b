"""归集 Collect: a `raw/<bureau>/<dataset>` asset per catalog dataset, bureau × day partitions."""

from datetime import date

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.catalog.models import SqlSource
from ycpipelines.collect.collector import write_partition
from ycpipelines.collect.files import read_file
from ycpipelines.collect.guard import MISSING_DELIVERY, guard_raw, missing_delivery
from ycpipelines.collect.reading import Reading
from ycpipelines.collect.resources import SourcesResource
from ycpipelines.collect.sql import read_sql
from ycpipelines.foundation.feedback import quarantine_findings
from ycpipelines.foundation.keys import raw_key
from ycpipelines.foundation.lake import commit_or_reject, duck
from ycpipelines.foundation.metadata import RECONCILED, reconciliation, schema
from ycpipelines.foundation.partitions import dataset_partitions, partition_check, partition_of
from ycpipelines.foundation.resources import LakeResource
from ycpipelines.registry.resource import RegistryResource


class CollectConfig(dg.Config):
    """Run options an operator may set in the launchpad."""

    full_refresh: bool = False  # re-read the whole day even when a watermark exists
    accept_source_types: bool = False  # after a planned migration: the types found are the new
    # baseline instead of schema drift
    accept_shrink: bool = False  # after checking the delivery: this run may replace a committed
    # partition with fewer than half its rows (audited with the run and the counts)


def raw_asset(catalog: Catalog, dataset: Dataset) -> dg.AssetsDefinition:
    bureau = catalog.bureau(dataset.bureau)
    source = dataset.source
    sql = isinstance(source, SqlSource)
    label = f"{bureau.id}/{source.system}/{source.where}"
    key = raw_key(dataset)
    partitions = dataset_partitions(catalog, dataset)
    incremental = sql and source.watermark_column is not None
    delivered = partition_check(
        MISSING_DELIVERY,
        key,
        partitions,
        "缺报: the day's partition has rows (none is a missing delivery)",
    )

    @dg.asset(
        key=key,
        partitions_def=partitions,
        group_name="raw",
        owners=[bureau.owner],
        kinds={"sqlalchemy" if sql else source.format, "parquet"},
        code_version=catalog.versions[dataset.id],
        description=f"归集 Collect: {dataset.label} from {bureau.label} ({bureau.name_en}; "
        f"{source.system}, {source.where}), as delivered, with provenance. {dataset.description}",
        metadata={
            "dagster/column_schema": schema(dataset.source_columns(typed=False)),
            "source": label,
            "freshness_hours": source.freshness_hours,
        },
        check_specs=[
            delivered,
            partition_check(
                RECONCILED,
                key,
                partitions,
                "rows read = rows collected + rows quarantined, before the partition is committed",
            ),
        ],
    )
    def collect(
        context: dg.AssetExecutionContext,
        config: CollectConfig,
        lake: LakeResource,
        sources: SourcesResource,
        registry: RegistryResource,
    ) -> dg.MaterializeResult:
        partition = partition_of(context)
        day = date.fromisoformat(partition.date)
        store = registry.registry
        committed = lake.lake.file("raw", dataset.id, partition)
        quarantine = lake.lake.file("quarantine", dataset.id, partition, "collect")
        reading = Reading(dataset, source.where)
        mark = None
        if incremental and not config.full_refresh and committed.exists():
            mark = store.watermark(dataset.id, partition.bureau, partition.date)
        if isinstance(source, SqlSource):
            reader = read_sql(
                sources.url(source, dataset.bureau),
                source,
                dataset,
                day,
                reading,
                {}
                if config.accept_source_types
                else store.source_columns(dataset.id, partition.bureau),
                mark.high if mark else None,
            )
        else:
            reader = read_file(
                sources.inbox(source) / day.strftime(source.pattern), source, reading
            )
        with duck() as con, lake.lake.staging(context.run_id) as stage:
            done = write_partition(
                con,
                reader,
                reading,
                raw_path=stage.path(committed),
                quarantine_path=stage.path(quarantine),
                previous=committed if mark else None,
                bureau=dataset.bureau,
                day=partition.date,
                source=label,
                run_id=context.run_id,
                watermark_column=source.watermark_column if incremental else None,
            )
            if reading.source_count != done.read:
                raise dg.Failure(
                    f"source reported {reading.source_count} rows, {done.read} were "
                    "read; the partition was not replaced"
                )
            guard_raw(
                context,
                store,
                dataset=dataset.id,
                partition=partition,
                committed=committed,
                rows=done.rows,
                accept=config.accept_shrink,
            )
            balance = reconciliation(
                done.read, {"collected": done.collected, "quarantined": done.quarantined}
            )
            outcome = commit_or_reject(stage, balance.passed)
        missing = dg.AssetCheckResult(
            check_name=MISSING_DELIVERY,
            passed=done.rows > 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows": done.rows, "read": done.read},
        )
        if not balance.passed:  # nothing committed: no watermark, no tickets
            return dg.MaterializeResult(
                metadata={**balance.metadata, **outcome}, check_results=[balance, missing]
            )
        counts = {
            "read": done.read,
            "collected": done.collected,
            "quarantined": done.quarantined,
            "rows": done.rows,
        }
        store.commit_collection(
            dataset=dataset.id,
            bureau=partition.bureau,
            day=partition.date,
            run_id=context.run_id,
            columns=reading.families,
            counts=counts,
            watermark=(source.watermark_column, done.watermark[1])
            if incremental and done.watermark[1]
            else None,
        )
        with duck() as con:
            collect_tickets = store.sync_tickets(
                dataset=dataset.id,
                bureau=partition.bureau,
                day=partition.date,
                stage="collect",
                run_id=context.run_id,
                found=quarantine_findings(con, quarantine, dataset)
                | missing_delivery(done.rows, reading.where),
                clean=True,
            )
        if reading.new_columns:
            context.log.warning(
                f"{dataset.id}: source has columns not in the catalog, "
                f"ignored: {reading.new_columns}"
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": done.rows,
                "source_count": reading.source_count,
                **counts,
                **balance.metadata,
                **outcome,
                "bytes": done.bytes,
                "incremental_after": mark.high if mark else "full read",
                "watermark_low": str(done.watermark[0]),
                "watermark_high": str(done.watermark[1]),
                "source_types": dg.MetadataValue.json(reading.families),
                "new_columns": ", ".join(reading.new_columns) or "none",
                "tickets": dg.MetadataValue.json(collect_tickets),
            },
            check_results=[balance, missing],
        )

    return collect


def collect_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(assets=[raw_asset(catalog, d) for d in catalog.datasets])
