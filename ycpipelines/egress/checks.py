"""出域核验 What every delivery re-verifies at write time: the approval of exactly this content,
the authorization (一授权一预案) and, for a product, the privacy checks of its build."""

from datetime import date

import dagster as dg

from ycpipelines.catalog import Product
from ycpipelines.egress.records import Approval, Order, Scope
from ycpipelines.egress.run_evidence import newest_run_materialization, run_check_history
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.keys import product_key
from ycpipelines.products.checks import privacy_checks
from ycpipelines.products.records import read_build
from ycpipelines.registry import Registry
from ycpipelines.registry.models import ApprovalRequest, Authorization


class EgressRefused(dg.Failure):
    """A delivery was refused; nothing was written outside the lake."""


def verify_authorization(grant: Authorization, consumer: str, scope: Scope, today: date) -> None:
    """一授权一预案: the consumer's, active, within its validity, covering every field."""
    where = f"authorization {grant.id} ({grant.consumer}, {grant.scenario})"
    if grant.status != "active":
        raise EgressRefused(f"{where} is {grant.status}")
    if not grant.valid_from <= today <= grant.valid_to:
        raise EgressRefused(f"{where} is valid {grant.valid_from}..{grant.valid_to}, not {today}")
    if grant.consumer != consumer:
        raise EgressRefused(f"{where} is not {consumer}'s")
    missing = [f for f in scope.fields if f not in grant.fields]
    if grant.scenario != scope.scenario or missing:
        raise EgressRefused(f"{where} does not cover {missing or scope.scenario}")


def verify(store: Registry, order: Order, request: ApprovalRequest, digest: str) -> Approval:
    """Everything a delivery re-checks at write time, on the snapshot's hash."""
    where = f"request {request.id}"
    if (request.scenario, request.consumer) != (order.scenario, order.consumer):
        raise EgressRefused(f"{where} is for {request.scenario} to {request.consumer}")
    if request.content_hash != digest:
        raise EgressRefused(
            f"{order.scenario} changed since {where} ({request.status}) was filed: "
            f"it named {request.content_hash}, the content is now {digest}"
        )
    decision = store.verified_decision(request.id)
    if decision.content_hash != digest:
        raise EgressRefused(f"the recorded approval of {where} names other content")
    if request.authorization_id is None:
        raise EgressRefused(f"{where} names no authorization")
    grant = store.authorization(request.authorization_id)
    verify_authorization(grant, order.consumer, order.scope, pilot_today())
    contributions = order.build(digest) if order.build else {}
    return Approval(digest, decision, grant.id, contributions)


def verify_privacy(instance: dg.DagsterInstance, product: Product, digest: str) -> dict[str, float]:
    """The product content was committed by a run whose blocking privacy checks all passed;
    returns what each bureau contributed to that build. Runless reports count for nothing."""
    key = product_key(product.scenario)
    event = newest_run_materialization(instance, key)
    build = read_build(event) if event else None
    if build is None or build.content_hash != digest or not build.committed:
        raise EgressRefused(f"no committed build of product/{product.scenario} has {digest}")
    for name in privacy_checks(product):
        newest = next(run_check_history(instance, dg.AssetCheckKey(key, name)), None)
        evaluation = newest.evaluation if newest else None
        if evaluation is None or newest.run_id != build.run_id or not evaluation.passed:
            raise EgressRefused(f"privacy check {name} of product/{product.scenario} did not pass")
    return dict(build.contributions)
