"""出域 Publish: deliver a product into a consumer's zone only under an approval of its exact bytes.

Publish re-verifies at write time — approval, content hash, authorization (active, in its
validity, covering every field) and the product's privacy checks. A refusal writes nothing,
says why and is audited. Each delivery is fingerprinted for its recipient: pseudonym columns
are re-keyed with a key of that consumer (溯源), so a leaked copy names who leaked it.
"""

import hashlib
import json
import os
import shutil
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from upath import UPath

from ycpipelines.catalog import Catalog, Product
from ycpipelines.deid.pseudonym import install_pseudonym, recipient_key
from ycpipelines.lake import duck, file_digest, quoted
from ycpipelines.ops.zones import DIR_MODE, consumer_zone, seal
from ycpipelines.products.assets import product_key, pseudonym_columns
from ycpipelines.registry import Registry
from ycpipelines.registry.models import ApprovalRequest, Authorization
from ycpipelines.resources import DeidResource, LakeResource, RegistryResource, ZoneResource

APPROVAL_TAG = "ycp/approval_request"
PUBLISHER = "egress-publisher"


class EgressRefused(dg.Failure):
    """Publishing was refused; nothing was written outside the lake."""


def published_key(scenario: str) -> dg.AssetKey:
    return dg.AssetKey(["published", scenario])


def fingerprint_id(key: str) -> str:
    """A name for a recipient key that reveals nothing about it."""
    return hashlib.sha256(f"fingerprint:{key}".encode()).hexdigest()[:16]


def verify_approval(request: ApprovalRequest, product: Product, digest: str) -> None:
    if request.scenario != product.scenario:
        raise EgressRefused(
            f"request {request.id} is for {request.scenario}, not {product.scenario}"
        )
    if request.content_hash != digest:
        raise EgressRefused(
            f"product/{product.scenario} changed since request {request.id} ({request.status}) "
            f"was filed: it named {request.content_hash}, the product is now {digest}"
        )
    if request.status != "approved":
        raise EgressRefused(f"request {request.id} is {request.status}, not approved")


def verify_authorization(grant: Authorization, product: Product, today: date) -> None:
    """一授权一预案: active, within its validity, and covering every field delivered."""
    where = f"authorization {grant.id} ({grant.consumer}, {grant.scenario})"
    if grant.status != "active":
        raise EgressRefused(f"{where} is {grant.status}")
    if not grant.valid_from <= today <= grant.valid_to:
        raise EgressRefused(f"{where} is valid {grant.valid_from}..{grant.valid_to}, not {today}")
    missing = [f.name for f in product.fields if f.name not in grant.fields]
    if grant.scenario != product.scenario or missing:
        raise EgressRefused(f"{where} does not cover {missing or product.scenario}")


def verify_privacy(instance: dg.DagsterInstance, product: Product, digest: str) -> None:
    """The product content was committed by a run whose blocking privacy checks all passed."""
    key = product_key(product.scenario)
    event = instance.get_latest_materialization_event(key)
    meta = {k: v.value for k, v in event.asset_materialization.metadata.items()} if event else {}
    if meta.get("content_hash") != digest or not meta.get("committed"):
        raise EgressRefused(f"no committed build of product/{product.scenario} has {digest}")
    for name in privacy_checks(product):
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(key, name), limit=1
        )
        evaluation = history[0].evaluation if history else None
        if evaluation is None or history[0].run_id != event.run_id or not evaluation.passed:
            raise EgressRefused(f"privacy check {name} of product/{product.scenario} did not pass")


def privacy_checks(product: Product) -> list[str]:
    from ycpipelines.deid.privacy import RESIDUAL_IDENTIFIERS
    from ycpipelines.products.assets import K_ANONYMITY, SMALL_CELLS

    return [K_ANONYMITY if product.quasi_identifiers else SMALL_CELLS, RESIDUAL_IDENTIFIERS]


def write_delivery(
    source: UPath, folder: Path, product: Product, pseudonyms: list[str], key: str
) -> tuple[Path, int]:
    """The product with its pseudonyms re-keyed for the recipient, in the manifest's format."""
    target = folder / f"data.{product.format}"
    columns = ", ".join(
        f"yc_pseudonym({quoted(f.name)}) AS {quoted(f.name)}"
        if f.name in pseudonyms
        else quoted(f.name)
        for f in product.fields
    )
    options = "FORMAT parquet, COMPRESSION zstd" if product.format == "parquet" else "HEADER"
    with duck() as con:
        con.execute("SET preserve_insertion_order = true")
        install_pseudonym(con, key)
        con.execute(
            f"COPY (SELECT {columns} FROM read_parquet('{source}')) TO '{target}' ({options})"
        )
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{source}')").fetchone()[0]
    return target, rows


def deliver(
    store: Registry,
    catalog: Catalog,
    product: Product,
    request: ApprovalRequest,
    source: UPath,
    zone: Path,
    master_key: str,
    contributions: dict[str, float],
) -> Path:
    """Write `zone/<consumer>/<scenario>/<version>/` with data and manifest, atomically, and record
    the delivery; if the record cannot be written, the delivery is removed again."""
    consumer = request.consumer
    key = recipient_key(master_key, consumer)
    version = store.next_version(consumer, product.scenario)
    scenario_folder = consumer_zone(zone, consumer) / product.scenario
    scenario_folder.mkdir(mode=DIR_MODE, exist_ok=True)
    seal(scenario_folder, consumer, recursive=False)
    final = scenario_folder / version
    staging = final.parent / f".{version}.{uuid.uuid4().hex}.tmp"
    staging.mkdir(mode=DIR_MODE)
    try:
        data, rows = write_delivery(
            source, staging, product, pseudonym_columns(catalog, product), key
        )
        if file_digest(source) != request.content_hash:
            raise EgressRefused(f"{source} changed while it was being delivered")
        sha256 = file_digest(data)
        manifest = {
            "scenario": product.scenario,
            "consumer": consumer,
            "version": version,
            "fields": [
                {"name": f.name, "label": f.label, "level": f.level} for f in product.fields
            ],
            "rows": rows,
            "file": data.name,
            "sha256": sha256,
            "product_sha256": request.content_hash,
            "approval_request": request.id,
            "reviewer": request.reviewer,
            "authorization": request.authorization_id,
            "retention_days": product.retention_days,
            "delivered_at": datetime.now(UTC).isoformat(),
        }
        (staging / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        seal(staging, consumer)
        os.replace(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        store.record_delivery(
            request.id,
            PUBLISHER,
            authorization_id=request.authorization_id,
            consumer=consumer,
            scenario=product.scenario,
            version=version,
            path=str(final / data.name),
            sha256=sha256,
            product_sha256=request.content_hash,
            rows=rows,
            fingerprint=fingerprint_id(key),
            price_cents=product.price_cents,
            contributions=contributions,
        )
    except Exception:
        shutil.rmtree(final, ignore_errors=True)  # unrecorded, so undelivered
        raise
    return final


def published_asset(catalog: Catalog, product: Product) -> dg.AssetsDefinition:
    @dg.asset(
        key=published_key(product.scenario),
        deps=[product_key(product.scenario)],
        group_name="published",
        owners=["team:egress-review"],
        kinds={product.format},
        description=f"出域 Egress: {product.label} delivered into an authorized consumer's zone, "
        "only when a recorded review approved exactly this content (出域审核).",
        metadata={"consumer": product.consumer},
    )
    def publish(
        context: dg.AssetExecutionContext,
        lake: LakeResource,
        registry: RegistryResource,
        zone: ZoneResource,
        deid: DeidResource,
    ) -> dg.MaterializeResult:
        store = registry.registry
        source = lake.lake.product_file(product.scenario)
        digest = file_digest(source)
        request_id = context.run.tags.get(APPROVAL_TAG)
        try:
            if not request_id:
                raise EgressRefused(
                    "publish runs only for an approved request; the egress_review sensor "
                    "launches them (ycp egress list / ycp egress approve)"
                )
            request = store.request(int(request_id))
            verify_approval(request, product, digest)
            if request.authorization_id is None:
                raise EgressRefused(f"request {request.id} names no authorization")
            verify_authorization(
                store.authorization(request.authorization_id), product, datetime.now(UTC).date()
            )
            verify_privacy(context.instance, product, digest)
            event = context.instance.get_latest_materialization_event(product_key(product.scenario))
            built = event.asset_materialization.metadata["contributions"].value
            target = deliver(
                store,
                catalog,
                product,
                request,
                source,
                Path(zone.root),
                deid.pseudonym_key,
                dict(built),
            )
        except EgressRefused as refusal:
            store.audit(
                PUBLISHER,
                "egress.refused",
                f"product/{product.scenario}",
                {
                    "reason": refusal.description,
                    "content_hash": digest,
                    "request": request_id,
                    "run_id": context.run_id,
                },
            )
            raise
        return dg.MaterializeResult(
            metadata={
                "path": str(target),
                "consumer": request.consumer,
                "content_hash": digest,
                "approval_request": request.id,
                "reviewer": request.reviewer or "",
            }
        )

    return publish


def publish_job_name(scenario: str) -> str:
    return f"publish_{scenario}"


def publish_job(product: Product) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        publish_job_name(product.scenario), selection=[published_key(product.scenario)]
    )
