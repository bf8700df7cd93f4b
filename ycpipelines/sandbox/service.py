"""The sandbox service (隐私计算沙箱): submit a query, charge its ε, release it for review, deliver.

A query's result leaves the domain the way a product does: an approval request bound to the
result's SHA-256, a reviewer's decision, and the one delivery path (`egress/delivery.py`), which
re-verifies the decision and the authorization, seals the consumer's zone and records it.
"""

import shutil
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
from pydantic import ValidationError
from upath import UPath

from ycpipelines.catalog import Catalog
from ycpipelines.egress.checks import EgressRefused
from ycpipelines.egress.delivery import deliver, refuse
from ycpipelines.egress.records import Order, Scope
from ycpipelines.foundation.keys import AssetRef, Layer
from ycpipelines.foundation.lake import Lake, file_digest, lake_path
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.models import ApprovalRequest, SandboxQuery
from ycpipelines.registry.sandbox import SANDBOX_ACTOR
from ycpipelines.sandbox.query import MIN_GROUP, QueryRefused, QuerySpec, check_spec, release


def sandbox_scenario(dataset: str) -> str:
    """What an authorization for sandbox queries over a dataset names as its scenario."""
    return str(AssetRef(Layer.SAFE, dataset))


def submit(
    spec_data: dict, consumer: str, catalog: Catalog, registry: Registry, lake: Lake, today: date
) -> SandboxQuery:
    """Run an authorized, budgeted aggregate query and file its result for review; a refusal is
    recorded with its reason and raised as `QueryRefused`."""
    try:
        spec = QuerySpec.model_validate(spec_data)
    except ValidationError as error:
        registry.audit(consumer, "sandbox.refused", "query/invalid", {"reason": str(error)})
        raise QueryRefused(f"invalid query: {error}") from error
    grants = [
        g
        for g in registry.active_authorizations(sandbox_scenario(spec.dataset), today)
        if g.consumer == consumer and g.epsilon is not None
    ]
    if not grants:
        scenario = sandbox_scenario(spec.dataset)
        reason = f"{consumer} has no active sandbox authorization for {scenario}"
        registry.audit(consumer, "sandbox.refused", "query/unauthorized", {"reason": reason})
        raise QueryRefused(reason)
    grant = grants[0]
    try:
        check_spec(spec, catalog, grant.fields)
    except QueryRefused as refusal:
        registry.refuse_query(consumer, grant.id, spec_data, str(refusal))
        raise
    try:
        query = registry.charge_query(consumer, grant.id, spec_data, spec.epsilon)
    except RegistryError as error:
        raise QueryRefused(str(error)) from error
    released = release(lake, spec)
    path = lake.root / "sandbox" / consumer / f"query-{query.id}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pq.write_table(released.table, f)
    request, _ = registry.file_request(
        SANDBOX_ACTOR,
        scenario=f"sandbox:{query.id}",
        consumer=consumer,
        authorization_id=grant.id,
        content_hash=file_digest(path),
        row_count=released.cells,
        product_path=str(path),
        product_run_id=f"sandbox-query-{query.id}",
        launched_by=consumer,
        evidence={
            "query": spec_data,
            "epsilon": spec.epsilon,
            "budget": grant.epsilon,
            "spent": registry.spent(grant.id),
            "min_group": MIN_GROUP,
            "released_cells": released.cells,
            "suppressed_cells": released.suppressed,
            "noise_scales": released.noise_scales,
        },
    )
    return registry.finish_query(query.id, path=str(path), request_id=request.id)


def copy_result(snapshot: UPath, folder: Path) -> Path:
    """A sandbox result leaves as it was reviewed: the snapshot's bytes, unchanged."""
    target = folder / "result.parquet"
    with snapshot.open("rb") as result, target.open("wb") as copy:
        shutil.copyfileobj(result, copy)
    return target


def result_order(query: SandboxQuery, request: ApprovalRequest) -> Order:
    """The delivery of a query's approved result: the columns it reads must still be granted."""
    spec = QuerySpec.model_validate(query.spec)
    return Order(
        request_id=request.id,
        consumer=query.consumer,
        scenario=request.scenario,
        scope=Scope(sandbox_scenario(spec.dataset), tuple(sorted(spec.columns()))),
        source=lake_path(query.result_path or ""),
        folder="sandbox",
        version=f"query-{query.id}",
        write=copy_result,
        fingerprint="aggregate",
        actor=SANDBOX_ACTOR,
        manifest={"query": query.id, "epsilon": query.epsilon},
    )


def release_result(query_id: int, consumer: str, registry: Registry, zone: Path) -> Path:
    """The approved result of a query delivered through the one delivery path (refusals audited)."""
    subject, detail = f"query/{query_id}", {"consumer": consumer}
    try:
        query = registry.sandbox_query(query_id)
    except RegistryError as error:
        refuse(registry, SANDBOX_ACTOR, subject, str(error), detail)
    if query.consumer != consumer:
        refuse(registry, SANDBOX_ACTOR, subject, f"query {query_id} is not {consumer}'s", detail)
    if query.request_id is None or query.result_path is None:
        reason = f"query {query_id} is {query.status}: {query.reason or 'no result'}"
        refuse(registry, SANDBOX_ACTOR, subject, reason, detail)
    request = registry.request(query.request_id)
    if request.status == "published" and request.published_path:
        return Path(request.published_path)  # delivered before: the same file, not a new one
    return deliver(registry, result_order(query, request), zone).data


def deliver_result(query_id: int, consumer: str, registry: Registry, zone: Path) -> Path:
    """Deliver an approved result into the consumer's zone, once; refuse anything else."""
    try:
        return release_result(query_id, consumer, registry, zone)
    except EgressRefused as refusal:
        raise QueryRefused(refusal.description or "refused") from refusal
