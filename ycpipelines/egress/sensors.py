"""The egress review sensor (出域审核): files a request per new product content, launches publish
runs for approved requests."""

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ycpipelines.catalog import Catalog, Product
from ycpipelines.egress.publish import APPROVAL_TAG, publish_job_name
from ycpipelines.products.assets import product_key
from ycpipelines.resources import RegistryResource

SENSOR_ACTOR = "egress-sensor"


def materialized(event: dg.EventLogEntry) -> dict:
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}  # type: ignore[union-attr]


def request_fields(product: Product, event: dg.EventLogEntry) -> dict:
    """What a reviewer needs, taken from the product's latest committed materialization."""
    meta = materialized(event)
    return {
        "scenario": product.scenario,
        "consumer": product.consumer,
        "content_hash": meta["content_hash"],
        "row_count": int(meta["dagster/row_count"]),
        "product_path": meta["path"],
        "product_run_id": event.run_id,
        "evidence": {
            "purpose": product.purpose,
            "legal_basis": product.legal_basis,
            "fields": [f.name for f in product.fields],
            "inputs": product.inputs,
            "residual_identifiers": meta["residual_identifiers"],
            "k": product.k,
            "smallest_group": meta["smallest_group"],
            "retention_days": product.retention_days,
        },
    }


def egress_sensor(
    catalog: Catalog, publish_jobs: list[UnresolvedAssetJobDefinition]
) -> dg.SensorDefinition:
    @dg.sensor(
        name="egress_review",
        jobs=publish_jobs,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="出域审核: files an approval request for each new product content and "
        "launches the publish run once a reviewer approved it.",
    )
    def egress_review(
        context: dg.SensorEvaluationContext, registry: RegistryResource
    ) -> dg.SensorResult:
        store = registry.registry
        filed = []
        for product in catalog.products:
            event = context.instance.get_latest_materialization_event(product_key(product.scenario))
            if event is not None and materialized(event)["committed"]:
                request, created = store.file_request(
                    SENSOR_ACTOR, **request_fields(product, event)
                )
                if created:
                    filed.append(request.id)
        approved = store.requests(status="approved")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"publish-request-{r.id}",
                    job_name=publish_job_name(r.scenario),
                    tags={APPROVAL_TAG: str(r.id)},
                )
                for r in approved
            ],
            skip_reason=None if approved else f"filed requests {filed or 'none'}; none approved",
        )

    return egress_review
