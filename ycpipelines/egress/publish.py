"""出域 Publish: deliver a product into a consumer's zone only under an approval of its exact bytes.

Publish goes through the one delivery path (`egress/delivery.py`): a snapshot of the product,
hashed once and compared with the approved hash, re-verified at write time — the decision in the
audit chain, the authorization (active, in its validity, covering every field) and the product's
privacy checks — and delivered from that same snapshot. A refusal writes nothing, says why and is
audited. Each delivery is fingerprinted for its recipient: pseudonym columns
are re-keyed with a key of that consumer (溯源), so a leaked copy names who leaked it.
"""

import hashlib
from pathlib import Path

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from upath import UPath

from ycpipelines.catalog import Catalog, Product
from ycpipelines.deid.pseudonym import install_pseudonym, recipient_key
from ycpipelines.deid.resources import DeidResource
from ycpipelines.egress.delivery import EgressRefused, Order, Scope, deliver, requested
from ycpipelines.egress.resources import ZoneResource
from ycpipelines.foundation.keys import product_key, published_key
from ycpipelines.foundation.lake import duck, quoted
from ycpipelines.foundation.resources import LakeResource
from ycpipelines.products.assets import pseudonym_columns
from ycpipelines.registry.resource import RegistryResource

APPROVAL_TAG = "ycp/approval_request"
PUBLISHER = "egress-publisher"


def fingerprint_id(key: str) -> str:
    """A name for a recipient key that reveals nothing about it."""
    return hashlib.sha256(f"fingerprint:{key}".encode()).hexdigest()[:16]


def verify_privacy(instance: dg.DagsterInstance, product: Product, digest: str) -> dict[str, float]:
    """The product content was committed by a run whose blocking privacy checks all passed;
    returns what each bureau contributed to that build."""
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
    return dict(meta.get("contributions") or {})


def privacy_checks(product: Product) -> list[str]:
    from ycpipelines.deid.privacy import RESIDUAL_IDENTIFIERS
    from ycpipelines.products.assets import K_ANONYMITY, SMALL_CELLS

    return [K_ANONYMITY if product.quasi_identifiers else SMALL_CELLS, RESIDUAL_IDENTIFIERS]


def write_delivery(
    source: UPath, folder: Path, product: Product, pseudonyms: list[str], key: str
) -> Path:
    """The product with its pseudonyms re-keyed for the recipient, in the manifest's format;
    `source` is the delivery's snapshot of the approved product."""
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
    return target


def product_order(
    catalog: Catalog,
    product: Product,
    request_id: int,
    consumer: str,
    lake_source: UPath,
    instance: dg.DagsterInstance,
    master_key: str,
    trail: dict[str, object],
) -> Order:
    """The delivery of a product to one consumer: re-keyed for it, under its privacy checks."""
    key = recipient_key(master_key, consumer)
    pseudonyms = pseudonym_columns(catalog, product)
    return Order(
        request_id=request_id,
        consumer=consumer,
        scenario=product.scenario,
        scope=Scope(product.scenario, tuple(f.name for f in product.fields)),
        source=lake_source,
        folder=product.scenario,
        write=lambda snapshot, folder: write_delivery(snapshot, folder, product, pseudonyms, key),
        fingerprint=fingerprint_id(key),
        actor=PUBLISHER,
        price_cents=product.price_cents,
        build=lambda digest: verify_privacy(instance, product, digest),
        manifest={
            "fields": [
                {"name": f.name, "label": f.label, "level": f.level} for f in product.fields
            ],
            "retention_days": product.retention_days,
        },
        trail=trail,
    )


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
        trail = {"run_id": context.run_id}
        tag = context.run.tags.get(APPROVAL_TAG)
        request = requested(store, tag, PUBLISHER, f"product/{product.scenario}", trail)
        order = product_order(
            catalog,
            product,
            request.id,
            request.consumer,
            lake.lake.product_file(product.scenario),
            context.instance,
            deid.pseudonym_key,
            trail,
        )
        done = deliver(store, order, Path(zone.root))
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

    return publish


def publish_job_name(scenario: str) -> str:
    return f"publish_{scenario}"


def publish_job(product: Product) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        publish_job_name(product.scenario), selection=[published_key(product.scenario)]
    )
