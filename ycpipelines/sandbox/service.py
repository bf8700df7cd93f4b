"""The sandbox service (隐私计算沙箱): submit a query, charge its ε, release it for review, deliver.

A query's result leaves the domain the way a product does: an approval request bound to the
result's SHA-256, a reviewer's decision, and a recorded delivery into the consumer's zone.
"""

import json
import os
import shutil
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
from pydantic import ValidationError

from ycpipelines.catalog import Catalog
from ycpipelines.lake import Lake, file_digest, lake_path
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.models import SandboxQuery
from ycpipelines.registry.sandbox import SANDBOX_ACTOR
from ycpipelines.sandbox.query import MIN_GROUP, QueryRefused, QuerySpec, check_spec, release


def sandbox_scenario(dataset: str) -> str:
    """What an authorization for sandbox queries over a dataset names as its scenario."""
    return f"safe/{dataset}"


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
        reason = f"{consumer} has no active sandbox authorization for safe/{spec.dataset}"
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


def deliver_result(query_id: int, consumer: str, registry: Registry, zone: Path) -> Path:
    """Copy an approved result into the consumer's zone, once; refuse anything else."""
    query = registry.sandbox_query(query_id)
    if query.consumer != consumer:
        raise QueryRefused(f"query {query_id} is not {consumer}'s")
    if query.request_id is None or query.result_path is None:
        raise QueryRefused(f"query {query_id} is {query.status}: {query.reason or 'no result'}")
    request = registry.request(query.request_id)
    folder = zone / consumer / "sandbox" / f"query-{query_id}"
    if request.status == "published" and request.published_path:
        return Path(request.published_path)
    if request.status != "approved":
        raise QueryRefused(f"the result of query {query_id} is {request.status}, not approved")
    source = lake_path(query.result_path)
    if file_digest(source) != request.content_hash:
        raise QueryRefused(f"the result of query {query_id} changed since it was reviewed")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "result.parquet"
    with source.open("rb") as result, target.open("wb") as copy:
        shutil.copyfileobj(result, copy)
    os.chmod(target, 0o640)
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "query": query_id,
                "sha256": request.content_hash,
                "approval_request": request.id,
                "reviewer": request.reviewer,
                "epsilon": query.epsilon,
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    registry.record_delivery(
        request.id,
        SANDBOX_ACTOR,
        authorization_id=query.authorization_id,
        consumer=consumer,
        scenario=request.scenario,
        version="v1",
        path=str(target),
        sha256=request.content_hash,
        product_sha256=request.content_hash,
        rows=request.row_count,
        fingerprint="aggregate",
        price_cents=0,
        contributions={},
    )
    return target
