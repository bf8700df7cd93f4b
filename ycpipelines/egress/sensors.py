"""The egress review sensor (出域审核): files a request per new product content and authorized
consumer, with the evidence a reviewer needs, and launches publish runs for approved requests."""

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ycpipelines.catalog import Catalog, Product
from ycpipelines.egress.publish import APPROVAL_TAG, publish_job_name
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.keys import product_key, std_key
from ycpipelines.govern.assets import QUALITY_GATE
from ycpipelines.registry.resource import RegistryResource

SENSOR_ACTOR = "egress-sensor"
LAUNCHED_BY = "ycp/launched_by"  # shown in the UI; never trusted: the registry records launchers
PRIVACY_EVIDENCE = ("residual_identifiers", "smallest_group", "small_cells", "suppress_below")


def materialized(event: dg.EventLogEntry) -> dict:
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}  # type: ignore[union-attr]


def quality_of_inputs(instance: dg.DagsterInstance, catalog: Catalog, product: Product) -> dict:
    """Per input dataset: how many governed partitions passed their quality gate."""
    found = {}
    for key in product.inputs:
        layer, name = key.split("/")
        if layer != "safe":
            continue
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(std_key(catalog.dataset(name)), QUALITY_GATE), limit=10_000
        )
        newest: dict[str | None, bool] = {}
        for execution in reversed(history):
            if execution.evaluation is not None:
                newest[execution.partition] = execution.evaluation.passed
        found[name] = {"partitions": len(newest), "passed": sum(newest.values())}
    return found


def evidence(instance: dg.DagsterInstance, catalog: Catalog, product: Product, meta: dict) -> dict:
    """What a reviewer needs to decide: purpose, fields with lineage, de-identification policies
    applied to the inputs, quality results, privacy check results and contributions."""
    inputs = [catalog.dataset(k.split("/")[1]) for k in product.inputs if k.startswith("safe/")]
    return {
        "purpose": product.purpose,
        "legal_basis": product.legal_basis,
        "fields": {f.name: {"level": f.level, "from": f.derived_from} for f in product.fields},
        "deid_policies": {
            d.id: {f.name: f.policy.value for f in d.fields if f.policy.value != "keep"}
            for d in inputs
        },
        "quality": quality_of_inputs(instance, catalog, product),
        "privacy": {
            k: meta[k]
            for k in (
                "residual_identifiers",
                "smallest_group",
                "k",
                "small_cells",
                "suppress_below",
            )
            if k in meta
        }
        | {"k": product.k, "quasi_identifiers": product.quasi_identifiers},
        "contributions": meta.get("contributions", {}),
        "retention_days": product.retention_days,
        "price": str(product.price),
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
        "authorized consumer, and launches the publish run once a reviewer approved it.",
    )
    def egress_review(
        context: dg.SensorEvaluationContext, registry: RegistryResource
    ) -> dg.SensorResult:
        store = registry.registry
        today = pilot_today()
        store.void_expired(today, SENSOR_ACTOR)
        filed, unauthorized = [], []
        for product in catalog.products:
            event = context.instance.get_latest_materialization_event(product_key(product.scenario))
            if event is None or not materialized(event)["committed"]:
                continue
            grants = store.active_authorizations(product.scenario, today)
            if not grants:
                unauthorized.append(product.scenario)
            meta = materialized(event)
            run = context.instance.get_run_record_by_id(event.run_id)
            for grant in grants:
                request, created = store.file_request(
                    SENSOR_ACTOR,
                    scenario=product.scenario,
                    consumer=grant.consumer,
                    authorization_id=grant.id,
                    content_hash=meta["content_hash"],
                    row_count=int(meta["dagster/row_count"]),
                    product_path=meta["path"],
                    product_run_id=event.run_id,
                    launched_by=store.launcher_of(
                        event.run_id, run.create_timestamp if run else None
                    ),
                    evidence=evidence(context.instance, catalog, product, meta),
                )
                if created:
                    filed.append(request.id)
        scenarios = {p.scenario for p in catalog.products}
        approved = [r for r in store.requests(status="approved") if r.scenario in scenarios]
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"publish-request-{r.id}",
                    job_name=publish_job_name(r.scenario),
                    tags={APPROVAL_TAG: str(r.id)},
                )
                for r in approved
            ],
            skip_reason=None
            if approved
            else f"filed requests {filed or 'none'}; none approved; "
            f"no active authorization for {unauthorized or 'none'}",
        )

    return egress_review
