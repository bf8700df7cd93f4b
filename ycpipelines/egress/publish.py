"""出域 Publish: copy a product into its consumer's zone only under an approval of its exact bytes.

Publish re-verifies at write time; a refusal writes nothing, says why and is audited.
"""

import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ycpipelines.catalog import Product
from ycpipelines.products.assets import file_digest, product_key
from ycpipelines.registry import Registry
from ycpipelines.registry.models import ApprovalRequest
from ycpipelines.resources import LakeResource, RegistryResource, ZoneResource

APPROVAL_TAG = "ycp/approval_request"
PUBLISHER = "egress-publisher"


class EgressRefused(dg.Failure):
    """Publishing was refused; nothing was written outside the lake."""


def published_key(scenario: str) -> dg.AssetKey:
    return dg.AssetKey(["published", scenario])


def approval_for(
    registry: Registry, product: Product, digest: str, request_id: str | None
) -> ApprovalRequest:
    """The approval that covers exactly `digest`, or a refusal naming what is missing."""
    if request_id:
        request = registry.request(int(request_id))
        if request.scenario != product.scenario:
            raise EgressRefused(
                f"request {request.id} is for {request.scenario}, not {product.scenario}"
            )
        if request.content_hash != digest:
            raise EgressRefused(
                f"product/{product.scenario} changed since request {request.id} "
                f"({request.status}) was filed: it named {request.content_hash}, "
                f"the product is now {digest}"
            )
        if request.status != "approved":
            raise EgressRefused(f"request {request.id} is {request.status}, not approved")
        return request
    approval = registry.approved_for(product.scenario, digest)
    if approval is None:
        raise EgressRefused(
            f"no approval for product/{product.scenario} with content {digest}; "
            "a reviewer must approve it first (ycp egress list / ycp egress approve)"
        )
    return approval


def deliver(source: Path, zone: Path, name: str, digest: str) -> Path:
    """Copy into the zone atomically and check the delivered bytes are the approved bytes."""
    zone.mkdir(parents=True, exist_ok=True)
    target = zone / name
    tmp = zone / f".{name}.{uuid.uuid4().hex}.tmp"
    try:
        shutil.copyfile(source, tmp)
        if file_digest(tmp) != digest:
            raise EgressRefused(f"{source} changed while it was being copied to {zone}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def published_asset(product: Product) -> dg.AssetsDefinition:
    @dg.asset(
        key=published_key(product.scenario),
        deps=[product_key(product.scenario)],
        group_name="published",
        owners=["team:egress-review"],
        kinds={"parquet"},
        description=f"出域 Egress: {product.label} delivered to {product.consumer_label}'s zone, "
        "only when a recorded review approved exactly this content (出域审核).",
        metadata={"consumer": product.consumer},
    )
    def publish(
        context: dg.AssetExecutionContext,
        lake: LakeResource,
        registry: RegistryResource,
        zone: ZoneResource,
    ) -> dg.MaterializeResult:
        store = registry.registry
        source = lake.lake.product_file(product.scenario)
        digest = file_digest(source)
        request_id = context.run.tags.get(APPROVAL_TAG)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"{product.scenario}-{stamp}-{digest[7:19]}.{product.format}"
        try:
            approval = approval_for(store, product, digest, request_id)
            target = deliver(source, zone.path(product.consumer) / product.scenario, name, digest)
        except EgressRefused as refusal:
            store.audit(
                PUBLISHER,
                "egress.refused",
                f"product/{product.scenario}",
                {"reason": refusal.description, "content_hash": digest, "run_id": context.run_id},
            )
            raise
        store.mark_published(
            approval.id,
            str(target),
            PUBLISHER,
            {"path": str(target), "content_hash": digest, "run_id": context.run_id},
        )
        return dg.MaterializeResult(
            metadata={
                "path": str(target),
                "content_hash": digest,
                "approval_request": approval.id,
                "reviewer": approval.reviewer or "",
            }
        )

    return publish


def publish_job_name(scenario: str) -> str:
    return f"publish_{scenario}"


def publish_job(product: Product) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        publish_job_name(product.scenario), selection=[published_key(product.scenario)]
    )
