"""出域审核 The review sensor's work: file one approval request per new product content and
authorized consumer, with the evidence a reviewer needs to decide."""

from datetime import date

import dagster as dg

from ycpipelines.catalog import Catalog, Product
from ycpipelines.egress.records import Review
from ycpipelines.egress.run_evidence import newest_run_materialization, run_check_history
from ycpipelines.foundation.keys import Layer, product_key, std_key
from ycpipelines.govern.checks import QUALITY_GATE
from ycpipelines.products.records import ProductBuild, read_build
from ycpipelines.registry import Registry
from ycpipelines.registry.models import ApprovalRequest, Authorization

SENSOR_ACTOR = "egress-sensor"
LAUNCHED_BY = "ycp/launched_by"  # shown in the UI; never trusted: the registry records launchers


def quality_of_inputs(instance: dg.DagsterInstance, catalog: Catalog, product: Product) -> dict:
    """Per input dataset: how many governed partitions passed their quality gate (as runs
    evaluated it: a runless report is no evidence)."""
    found = {}
    for ref in product.inputs:
        if ref.layer != Layer.SAFE:
            continue
        check = dg.AssetCheckKey(std_key(catalog.dataset(ref.name)), QUALITY_GATE)
        newest: dict[str | None, bool] = {}
        for execution in run_check_history(instance, check):
            if execution.evaluation is not None and execution.partition not in newest:
                newest[execution.partition] = execution.evaluation.passed
        found[ref.name] = {"partitions": len(newest), "passed": sum(newest.values())}
    return found


def privacy_evidence(build: ProductBuild, product: Product) -> dict:
    """The figures the build's privacy checks judged, its re-identification risks, with the k
    and quasi-identifiers asked."""
    figures = {
        "residual_identifiers": build.residual_identifiers,
        "smallest_group": build.smallest_group,
        "small_cells": build.small_cells,
        "suppress_below": build.suppress_below,
    }
    measured = {k: v for k, v in figures.items() if v is not None}
    if build.reidentification:  # re-identification risks (and ℓ) of a row-level product
        measured["reidentification"] = dict(build.reidentification)
    return measured | {"k": product.k, "quasi_identifiers": product.quasi_identifiers}


def evidence(
    instance: dg.DagsterInstance, catalog: Catalog, product: Product, build: ProductBuild
) -> dict:
    """What a reviewer needs to decide: purpose, fields with lineage, de-identification policies
    applied to the inputs, quality results, privacy check results and contributions."""
    inputs = [catalog.dataset(r.name) for r in product.inputs if r.layer == Layer.SAFE]
    return {
        "purpose": product.purpose,
        "legal_basis": product.legal_basis,
        "fields": {
            f.name: {"level": f.level, "from": [str(s) for s in f.derived_from]}
            for f in product.fields
        },
        "deid_policies": {
            d.id: {f.name: f.policy.value for f in d.fields if f.policy.value != "keep"}
            for d in inputs
        },
        "quality": quality_of_inputs(instance, catalog, product),
        "privacy": privacy_evidence(build, product),
        "contributions": dict(build.contributions),
        "retention_days": product.retention_days,
        "price": str(product.price),
    }


def latest_build(instance: dg.DagsterInstance, product: Product) -> ProductBuild | None:
    """The product's newest build by a run, when one was committed."""
    event = newest_run_materialization(instance, product_key(product.scenario))
    build = read_build(event) if event else None
    return build if build and build.committed else None


def file_requests(
    store: Registry,
    instance: dg.DagsterInstance,
    catalog: Catalog,
    product: Product,
    build: ProductBuild,
    grants: list[Authorization],
) -> list[int]:
    """One request per authorized consumer for the build's content; returns those new. The
    evidence (which reads every partition's quality gate) is gathered only when a consumer
    lacks its request, not on every tick of the sensor."""
    filed_before = store.requested_consumers(product.scenario, build.content_hash)
    grants = [g for g in grants if g.consumer not in filed_before]
    if not grants:
        return []
    run = instance.get_run_record_by_id(build.run_id)
    launched_by = store.launcher_of(build.run_id, run.create_timestamp if run else None)
    found = evidence(instance, catalog, product, build)
    filed = []
    for grant in grants:
        request, created = store.file_request(
            SENSOR_ACTOR,
            scenario=product.scenario,
            consumer=grant.consumer,
            authorization_id=grant.id,
            content_hash=build.content_hash,
            row_count=build.rows,
            product_path=build.path,
            product_run_id=build.run_id,
            launched_by=launched_by,
            evidence=found,
        )
        if created:
            filed.append(request.id)
    return filed


def review(store: Registry, instance: dg.DagsterInstance, catalog: Catalog, today: date) -> Review:
    """Void expired authorizations, then file requests for every product's newest build."""
    store.void_expired(today, SENSOR_ACTOR)
    filed, unauthorized, consumers = [], [], {}
    for product in catalog.products:
        grants = store.active_authorizations(product.scenario, today)
        consumers[product.scenario] = {g.consumer for g in grants}
        build = latest_build(instance, product)
        if build is None:
            continue
        if not grants:
            unauthorized.append(product.scenario)
        filed += file_requests(store, instance, catalog, product, build, grants)
    return Review(filed, unauthorized, consumers)


def approved(store: Registry, catalog: Catalog) -> list[ApprovalRequest]:
    """Approved requests for the catalog's products: each is one publish run to launch."""
    scenarios = {p.scenario for p in catalog.products}
    return [r for r in store.requests(status="approved") if r.scenario in scenarios]
