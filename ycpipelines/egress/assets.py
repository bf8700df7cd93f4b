"""出域 Egress in the asset graph: `published/<scenario>` partitioned by consumer, its publish job,
and the review sensor that files requests and launches publish runs for approved ones."""

from pathlib import Path

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ycpipelines.catalog import Catalog, Product
from ycpipelines.deid.resources import DeidResource
from ycpipelines.egress.consumers import consumer_partitions, open_deliveries
from ycpipelines.egress.publish import APPROVAL_TAG, Run, Targets, publish, publish_job_name
from ycpipelines.egress.resources import ZoneResource
from ycpipelines.egress.review import approved, review
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.keys import Layer, product_key, published_key
from ycpipelines.foundation.resources import LakeResource
from ycpipelines.registry.resource import RegistryResource


def published_asset(catalog: Catalog, product: Product) -> dg.AssetsDefinition:
    @dg.asset(
        key=published_key(product.scenario),
        deps=[product_key(product.scenario)],
        partitions_def=consumer_partitions(product.scenario),
        group_name=Layer.PUBLISHED.value,
        owners=["team:egress-review"],
        kinds={product.format},
        description=f"出域 Egress: {product.label} delivered into an authorized consumer's zone, "
        "only when a recorded review approved exactly this content (出域审核); one partition "
        "per authorized consumer.",
        metadata={"consumer": product.consumer},
    )
    def published(
        context: dg.AssetExecutionContext,
        lake: LakeResource,
        registry: RegistryResource,
        zone: ZoneResource,
        deid: DeidResource,
    ) -> dg.MaterializeResult:
        run = Run(
            context.run_id,
            context.run.tags.get(APPROVAL_TAG),
            context.partition_key if context.has_partition_key else None,
        )
        targets = Targets(lake.lake, Path(zone.root), deid.pseudonym_key)
        request, done = publish(catalog, product, registry.registry, context.instance, run, targets)
        return dg.MaterializeResult(
            metadata={
                "path": str(done.folder),
                "consumer": request.consumer,
                "content_hash": done.product_sha256,
                "sha256": done.sha256,
                "rows": done.rows,
                "approval_request": request.id,
                "reviewer": done.decision.reviewer,
            }
        )

    return published


def publish_job(product: Product) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        publish_job_name(product.scenario),
        selection=[published_key(product.scenario)],
        partitions_def=consumer_partitions(product.scenario),
    )


def egress_sensor(
    catalog: Catalog, publish_jobs: list[UnresolvedAssetJobDefinition]
) -> dg.SensorDefinition:
    @dg.sensor(
        name="egress_review",
        jobs=publish_jobs,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="出域审核: files an approval request for each new product content and "
        "authorized consumer, and launches the publish run once a reviewer approved it, in "
        "the consumer's partition of `published/<scenario>`.",
    )
    def egress_review(
        context: dg.SensorEvaluationContext, registry: RegistryResource
    ) -> dg.SensorResult:
        store = registry.registry
        done = review(store, context.instance, catalog, pilot_today())
        launch = approved(store, catalog)
        for scenario, consumers in done.consumers.items():
            due = {r.consumer for r in launch if r.scenario == scenario}
            open_deliveries(context.instance, scenario, consumers | due)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"publish-request-{r.id}",
                    job_name=publish_job_name(r.scenario),
                    partition_key=r.consumer,
                    tags={APPROVAL_TAG: str(r.id)},
                )
                for r in launch
            ],
            skip_reason=None
            if launch
            else f"filed requests {done.filed or 'none'}; none approved; "
            f"no active authorization for {done.unauthorized or 'none'}",
        )

    return egress_review
