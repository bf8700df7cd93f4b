"""Real requests for the review desk (审核台), shared by the evidence sheet's tests and the
console's: the product built over the first days, one consumer's request delivered, the last day
ingested and the product rebuilt, so each consumer holds a newer request and one consumer a
second delivery."""

import io
from datetime import date, timedelta

import dagster as dg
from pypdf import PdfReader

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import launch, review_tick
from ycpipelines.egress.publish import APPROVAL_TAG
from ycpipelines.registry import Registry

from helpers import accounts, build_and_review, grant, ingest_demo_days, ycp

SCENARIO = "claims_verification"
PENDING, APPROVED, TWICE = "desk_p", "desk_a", "desk_t"
OPERATOR, REVIEWER = "钱运营", "周审核"


def approve_and_deliver(
    defs: dg.Definitions, instance: dg.DagsterInstance, request_id: int
) -> None:
    ycp("egress", "approve", str(request_id), "--comment", "字段与授权一致", as_user=REVIEWER)
    [run] = [r for r in review_tick(defs, instance) if r.tags[APPROVAL_TAG] == str(request_id)]
    assert launch(defs, instance, run).success


def desk_requests(registry: Registry, sources: dict, instance: dg.DagsterInstance) -> dict:
    """Requests of the rebuilt product, built by OPERATOR: PENDING's pending, APPROVED's
    approved, TWICE's published after its first version (both approved by REVIEWER)."""
    catalog = load_catalog()
    defs = build_definitions(catalog)
    last = date.fromisoformat(sources["end"])
    ingest_demo_days(sources, until=last - timedelta(days=1))
    accounts(registry, {OPERATOR: ["operator"], REVIEWER: ["reviewer"]})
    for consumer in (PENDING, APPROVED, TWICE):
        grant(consumer, SCENARIO)
    first = build_and_review(defs, instance, registry, OPERATOR, SCENARIO)
    approve_and_deliver(defs, instance, first[TWICE].id)
    ingest_demo_days(sources, since=last)
    requests = build_and_review(defs, instance, registry, OPERATOR, SCENARIO)
    assert requests[TWICE].content_hash != first[TWICE].content_hash
    approve_and_deliver(defs, instance, requests[TWICE].id)
    ycp("egress", "approve", str(requests[APPROVED].id), "--comment", "同意", as_user=REVIEWER)
    return {"catalog": catalog, "registry": registry, "requests": requests, "first": first}


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF's pages, as a reader copies it."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
