"""归集 Collect: a `raw/<bureau>/<dataset>` asset per catalog dataset, bureau × day partitions."""

from collections.abc import Iterator

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.catalog.models import SqlSource
from ycpipelines.collect.backfill import serve_requests
from ycpipelines.collect.checks import check_specs, delivered, reconciled
from ycpipelines.collect.partition import collect_partition
from ycpipelines.collect.records import Collected
from ycpipelines.collect.resources import SourcesResource
from ycpipelines.foundation.keys import Layer, raw_key
from ycpipelines.foundation.lake import Lake, Partition
from ycpipelines.foundation.metadata import schema
from ycpipelines.foundation.partitions import dataset_partitions
from ycpipelines.foundation.ranges import Event, materialize_each, ranged
from ycpipelines.foundation.resources import LakeResource
from ycpipelines.registry import Registry
from ycpipelines.registry.resource import RegistryResource


class CollectConfig(dg.Config):
    """Run options an operator may set in the launchpad."""

    full_refresh: bool = False  # re-read the whole day even when a watermark exists
    accept_source_types: bool = False  # after a planned migration: the types found are the new
    # baseline instead of schema drift
    accept_shrink: bool = False  # after checking the delivery: this run may replace a committed
    # partition with fewer than half its rows (audited with the run and the counts)


def launcher(context: dg.AssetExecutionContext, store: Registry) -> str:
    """Who launched this run, as the platform recorded it (a run tag proves nothing)."""
    record = context.instance.get_run_record_by_id(context.run_id)
    known = store.launcher_of(context.run_id, record.create_timestamp if record else None)
    return known or f"unrecorded launcher of run {context.run_id}"


def materialized(collected: Collected) -> dg.MaterializeResult:
    """A partition's metadata and check results; a partition kept aside reports its counts
    only."""
    written = collected.written
    balance, missing = reconciled(written), delivered(written)
    if collected.tickets is None:  # nothing committed: no watermark, no tickets
        return dg.MaterializeResult(
            metadata={**balance.metadata, **collected.outcome},
            check_results=[balance, missing],
        )
    after = collected.incremental_after
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written.rows,
            "source_count": collected.source_count,
            "read": written.read,
            "collected": written.collected,
            "quarantined": written.quarantined,
            "rows": written.rows,
            **balance.metadata,
            **collected.outcome,
            "bytes": written.bytes,
            "incremental_after": after if after is not None else "full read",
            "watermark_low": str(written.watermark[0]),
            "watermark_high": str(written.watermark[1]),
            "source_types": dg.MetadataValue.json(collected.source_types),
            "new_columns": ", ".join(collected.new_columns) or "none",
            "tickets": dg.MetadataValue.json(collected.tickets),
        },
        check_results=[balance, missing],
    )


def collect_one(
    context: dg.AssetExecutionContext,
    config: CollectConfig,
    dataset: Dataset,
    label: str,
    partition: Partition,
    lake: Lake,
    sources: SourcesResource,
    store: Registry,
) -> dg.MaterializeResult:
    """Collect one partition of the run, warning of source columns not in the catalog."""
    collected = collect_partition(
        dataset,
        partition,
        label=label,
        lake=lake,
        store=store,
        sources=sources,
        run_id=context.run_id,
        launcher=lambda: launcher(context, store),
        full_refresh=config.full_refresh,
        accept_source_types=config.accept_source_types,
        accept_shrink=config.accept_shrink,
    )
    if collected.tickets is not None and collected.new_columns:
        context.log.warning(
            f"{dataset.id}: source has columns not in the catalog, ignored: {collected.new_columns}"
        )
    return materialized(collected)


def raw_asset(catalog: Catalog, dataset: Dataset) -> dg.AssetsDefinition:
    bureau = catalog.bureau(dataset.bureau)
    source = dataset.source
    label = f"{bureau.id}/{source.system}/{source.where}"
    key = raw_key(dataset)
    partitions = dataset_partitions(catalog, dataset)

    @dg.asset(
        key=key,
        partitions_def=partitions,
        group_name=Layer.RAW.value,
        owners=[bureau.owner],
        kinds={"sqlalchemy" if isinstance(source, SqlSource) else source.format, "parquet"},
        code_version=catalog.versions[dataset.id],
        description=f"归集 Collect: {dataset.label} from {bureau.label} ({bureau.name_en}; "
        f"{source.system}, {source.where}), as delivered, with provenance. {dataset.description}",
        metadata={
            "dagster/column_schema": schema(dataset.source_columns(typed=False)),
            "source": label,
            "freshness_hours": source.freshness_hours,
        },
        check_specs=check_specs(key, partitions),
    )
    def collect(
        context: dg.AssetExecutionContext,
        config: CollectConfig,
        lake: LakeResource,
        sources: SourcesResource,
        registry: RegistryResource,
    ) -> Iterator[Event]:
        store = registry.registry
        if (config.accept_shrink or config.accept_source_types) and len(context.partition_keys) > 1:
            raise dg.Failure(
                "accept_shrink and accept_source_types apply to one partition after checking "
                "its delivery: launch that day alone"
            )
        yield from materialize_each(
            context,
            lambda p: collect_one(context, config, dataset, label, p, lake.lake, sources, store),
        )

    return ranged(collect)


def backfill_sensor(catalog: Catalog) -> dg.SensorDefinition:
    @dg.sensor(
        name="bureau_backfills",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="补采: submits the backfills bureaus requested from the console (their own "
        "datasets' days, checked by the registry) and records each one's progress there.",
    )
    def bureau_backfills(
        context: dg.SensorEvaluationContext, registry: RegistryResource
    ) -> dg.SkipReason:
        graph = context.repository_def.asset_graph  # type: ignore[union-attr]
        submitted = serve_requests(registry.registry, context.instance, graph, catalog)
        return dg.SkipReason(f"{submitted} backfill(s) submitted; progress recorded")

    return bureau_backfills
