"""出域 Publish: deliver a product into a consumer's zone only under an approval of its exact bytes.

Publish goes through the one delivery path (`egress/delivery.py`): a snapshot of the product,
hashed once and compared with the approved hash, re-verified at write time — the decision in the
audit chain, the authorization (active, in its validity, covering every field) and the product's
privacy checks — and delivered from that same snapshot. A refusal writes nothing, says why and is
audited. Each delivery is fingerprinted for its recipient: pseudonym columns
are re-keyed with a key of that consumer (溯源), so a leaked copy names who leaked it.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from upath import UPath

from ycpipelines.catalog import Catalog, Product
from ycpipelines.deid.pseudonym import install_pseudonym, recipient_key
from ycpipelines.egress.checks import verify_privacy
from ycpipelines.egress.delivery import deliver, refuse, requested
from ycpipelines.egress.records import Delivered, Order, Scope
from ycpipelines.foundation.lake import Lake, duck, quoted
from ycpipelines.products.build import pseudonym_columns
from ycpipelines.registry import Registry
from ycpipelines.registry.models import ApprovalRequest

APPROVAL_TAG = "ycp/approval_request"
PUBLISHER = "egress-publisher"


@dataclass(frozen=True)
class Run:
    """What a publish run names: its id, its approval request tag and its consumer partition."""

    run_id: str
    tag: str | None
    consumer: str | None


@dataclass(frozen=True)
class Targets:
    """Where a publish reads and writes: the lake, the zones, and the master pseudonym key."""

    lake: Lake
    zone: Path
    master_key: str = field(repr=False)  # a secret: never in a repr or a log


def fingerprint_id(key: str) -> str:
    """A name for a recipient key that reveals nothing about it."""
    return hashlib.sha256(f"fingerprint:{key}".encode()).hexdigest()[:16]


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


def publish(
    catalog: Catalog,
    product: Product,
    store: Registry,
    instance: dg.DagsterInstance,
    run: Run,
    targets: Targets,
) -> tuple[ApprovalRequest, Delivered]:
    """Deliver the product for the approval request the run is tagged with, into the zone of
    the consumer the run's partition names, which must be the request's."""
    trail = {"run_id": run.run_id}
    subject = f"product/{product.scenario}"
    request = requested(store, run.tag, PUBLISHER, subject, trail)
    if run.consumer != request.consumer:
        reason = (
            f"the run delivers to partition {run.consumer or '(none)'}; "
            f"request {request.id} is {request.consumer}'s"
        )
        refuse(store, PUBLISHER, subject, reason, {**trail, "request": request.id})
    order = product_order(
        catalog,
        product,
        request.id,
        request.consumer,
        targets.lake.product_file(product.scenario),
        instance,
        targets.master_key,
        trail,
    )
    return request, deliver(store, order, targets.zone)


def publish_job_name(scenario: str) -> str:
    return f"publish_{scenario}"
