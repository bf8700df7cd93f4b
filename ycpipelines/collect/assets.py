"""归集 Collect: a `raw/<bureau>/<dataset>` asset per catalog dataset, bureau × day partitions."""

from datetime import date

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.catalog.models import SqlSource
from ycpipelines.collect.collector import write_partition
from ycpipelines.collect.partitions import dataset_partitions, partition_of
from ycpipelines.collect.readers import Reading, read_file, read_sql
from ycpipelines.lake import duck
from ycpipelines.metadata import reconciled, schema, source_columns
from ycpipelines.resources import LakeResource, SourcesResource


def raw_key(dataset: Dataset) -> dg.AssetKey:
    return dg.AssetKey(["raw", dataset.bureau, dataset.id])


def raw_asset(catalog: Catalog, dataset: Dataset) -> dg.AssetsDefinition:
    bureau = catalog.bureau(dataset.bureau)
    source = dataset.source
    kind = "sqlalchemy" if isinstance(source, SqlSource) else "csv"
    where = source.table if isinstance(source, SqlSource) else source.pattern
    label = f"{bureau.id}/{source.system}/{where}"

    @dg.asset(
        key=raw_key(dataset),
        partitions_def=dataset_partitions(catalog, dataset),
        group_name="raw",
        owners=[bureau.owner],
        kinds={kind, "parquet"},
        code_version=catalog.versions[dataset.id],
        description=f"归集 Collect: {dataset.label} from {bureau.label} ({source.system}, "
        f"{where}), as delivered, with provenance. {dataset.description}",
        metadata={
            "dagster/column_schema": schema(source_columns(dataset, typed=False)),
            "source": label,
        },
    )
    def collect(
        context: dg.AssetExecutionContext, lake: LakeResource, sources: SourcesResource
    ) -> dg.MaterializeResult:
        partition = partition_of(context)
        day = date.fromisoformat(partition.date)
        reading = Reading(columns=[f.name for f in dataset.fields])
        if isinstance(source, SqlSource):
            url = sources.url(source, dataset.bureau)
            batches = read_sql(url, source, dataset, day, reading)
        else:
            path = sources.inbox(source) / day.strftime(source.pattern)
            batches = read_file(path, source, dataset, reading)
        with duck() as con, lake.lake.staging(context.run_id) as stage:
            done = write_partition(
                con,
                batches,
                reading,
                raw_path=stage.path(lake.lake.file("raw", dataset.id, partition)),
                quarantine_path=stage.path(
                    lake.lake.file("quarantine", dataset.id, partition, "collect")
                ),
                bureau=dataset.bureau,
                source=label,
                run_id=context.run_id,
                watermark_column=getattr(source, "partition_column", None),
            )
            if reading.source_count != done.read:
                raise dg.Failure(
                    f"source reported {reading.source_count} rows, {done.read} were read; "
                    "the partition was not replaced"
                )
            stage.commit()
        if reading.new_columns:
            context.log.warning(
                f"{dataset.id}: source has columns not in the catalog, "
                f"ignored: {reading.new_columns}"
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": done.collected,
                "source_count": reading.source_count,
                "read": done.read,
                "quarantined": done.quarantined,
                **reconciled(
                    done.read, {"collected": done.collected, "quarantined": done.quarantined}
                ),
                "bytes": done.bytes,
                "watermark_low": str(done.watermark[0]),
                "watermark_high": str(done.watermark[1]),
                "new_columns": ", ".join(reading.new_columns) or "none",
            }
        )

    return collect


def collect_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(assets=[raw_asset(catalog, d) for d in catalog.datasets])
