"""Attacks on the one delivery path (出域): a product swapped while it is delivered, a status
flipped in the database, a forged build, a narrowed or missing authorization, a suspended one,
and forged run tags. Each refusal writes nothing into the zone and is audited. The registry is
the real PostgreSQL; publish runs are real Dagster runs."""

import json
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import text

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET, review_tick
from ycpipelines.egress import publish
from ycpipelines.egress.review import LAUNCHED_BY
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.keys import product_key
from ycpipelines.foundation.lake import duck, file_digest
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.models import ApprovalRequest

from helpers import ADMIN, accounts, failures, ingest_demo_days, publish_run, upgraded

SCENARIO = "underwriting_features"
OPERATOR, REVIEWER = "赵运营", "钱审核"


@pytest.fixture(scope="module")
def world(yc_home: Path, sources: dict, instance: dg.DagsterInstance, databases) -> Iterator[dict]:
    """Governed demo data and the product built by an operator; no consumer authorized yet."""
    os.environ["YC_REGISTRY_URL"] = upgraded(databases("postgresql"))
    catalog = load_catalog()
    defs = build_definitions(catalog)
    ingest_demo_days(sources)
    built = defs.resolve_job_def("build_products").execute_in_process(
        instance=instance, run_config=QUIET, tags={LAUNCHED_BY: OPERATOR}
    )
    assert built.success
    product = next(p for p in catalog.products if p.scenario == SCENARIO)
    yield {
        "defs": defs,
        "registry": Registry(),
        "product": product,
        "file": yc_home / "lake" / "product" / SCENARIO / "data.parquet",
        "zone": yc_home / "zone",
    }
    del os.environ["YC_REGISTRY_URL"]


@pytest.fixture(scope="module")
def authorize(world: dict, instance: dg.DagsterInstance) -> Callable[..., ApprovalRequest]:
    """`authorize(consumer)`: a reviewer, a grant of the product (all its fields unless told),
    the request the review sensor files for it, approved unless `approve=False`."""
    registry: Registry = world["registry"]
    accounts(registry, {REVIEWER: ["reviewer"]})
    today = pilot_today()

    def make(consumer: str, fields: list[str] | None = None, approve: bool = True):
        registry.grant(
            consumer=consumer,
            scenario=SCENARIO,
            fields=fields or [f.name for f in world["product"].fields],
            valid_from=today - timedelta(days=1),
            valid_to=today + timedelta(days=30),
            plan=f"预案-{consumer}: 停止交付",
            actor=ADMIN,
        )
        review_tick(world["defs"], instance)
        [request] = [r for r in registry.requests() if r.consumer == consumer]
        if approve:
            registry.decide(request.id, approve=True, reviewer=REVIEWER, comment="同意")
        return registry.request(request.id)

    return make


def assert_refused(world: dict, result, consumer: str, subject: str, reason: str) -> None:
    """The run failed saying why, nothing reached the consumer's zone, the refusal is audited."""
    assert not result.success
    assert reason in failures(result)
    assert not (world["zone"] / consumer).exists()
    [entry] = [
        e
        for e in world["registry"].audit_log()
        if e.action == "egress.refused" and e.detail.get("run_id") == result.run_id
    ]
    assert entry.subject == subject and reason in entry.detail["reason"]


def one_row_copy(world: dict, tmp: Path) -> Path:
    """A valid product file of a single row: what an attacker would rather have delivered."""
    small = tmp / "one.parquet"
    with duck() as con:
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{world['file']}') LIMIT 1) "
            f"TO '{small}' (FORMAT parquet)"
        )
    return small


def test_a_product_swapped_between_snapshot_and_write_is_not_what_is_delivered(
    world: dict, authorize, instance: dg.DagsterInstance, tmp_path: Path, monkeypatch
) -> None:
    request = authorize("insurer_race")
    approved = world["file"].read_bytes()
    small = one_row_copy(world, tmp_path)
    original = publish.write_delivery

    def swapping(*args, **kwargs):  # the product file is replaced while publish reads it
        shutil.copyfile(small, world["file"])
        try:
            return original(*args, **kwargs)
        finally:
            world["file"].write_bytes(approved)

    monkeypatch.setattr(publish, "write_delivery", swapping)
    result = publish_run(world["defs"], instance, SCENARIO, request.id)
    assert result.success, failures(result)
    folder = world["zone"] / "insurer_race" / SCENARIO / "v1"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    data = folder / "data.parquet"
    with duck() as con:
        delivered = con.execute(f"SELECT count(*) FROM '{data}'").fetchone()[0]
    assert delivered == request.row_count > 1, "the approved rows, not the swapped-in file"
    assert manifest["rows"] == delivered and manifest["sha256"] == file_digest(data)
    assert manifest["product_sha256"] == request.content_hash
    assert manifest["reviewer"] == REVIEWER
    assert not list(world["file"].parent.glob(".snapshot.*")), "the snapshot is removed"


def test_content_changed_before_the_snapshot_is_refused(
    world: dict, authorize, instance: dg.DagsterInstance, tmp_path: Path, monkeypatch
) -> None:
    from ycpipelines.egress import delivery  # imported here so the file runs on older code

    request = authorize("insurer_changed")
    approved = world["file"].read_bytes()
    small = one_row_copy(world, tmp_path)
    original = delivery.take_snapshot

    def swapped_first(source):
        shutil.copyfile(small, world["file"])
        try:
            return original(source)
        finally:
            world["file"].write_bytes(approved)

    monkeypatch.setattr(delivery, "take_snapshot", swapped_first)
    result = publish_run(world["defs"], instance, SCENARIO, request.id)
    assert_refused(world, result, "insurer_changed", f"request/{request.id}", "changed since")


def test_a_status_flipped_in_the_database_is_not_an_approval(
    world: dict, authorize, instance: dg.DagsterInstance
) -> None:
    request = authorize("insurer_flipped", approve=False)
    with world["registry"].engine.begin() as conn:
        conn.execute(
            text("UPDATE approval_requests SET status = 'approved', reviewer = :r WHERE id = :id"),
            {"r": REVIEWER, "id": request.id},
        )
    result = publish_run(world["defs"], instance, SCENARIO, request.id)
    reason = f"request {request.id} is approved in its table, but the audit chain leaves it pending"
    assert_refused(world, result, "insurer_flipped", f"request/{request.id}", reason)


def test_a_build_without_its_privacy_checks_is_not_delivered(world: dict, authorize) -> None:
    """An instance whose newest build of the product has the approved hash but whose privacy
    checks never ran (a run that materialized the key alone): nothing leaves."""
    request = authorize("insurer_privacy")

    @dg.asset(key=product_key(SCENARIO))
    def forged() -> dg.MaterializeResult:
        return dg.MaterializeResult(
            metadata={
                "content_hash": request.content_hash,
                "path": request.product_path,
                "committed": True,
            }
        )

    with dg.DagsterInstance.ephemeral() as elsewhere:
        assert dg.materialize([forged], instance=elsewhere).success
        result = publish_run(world["defs"], elsewhere, SCENARIO, request.id)
    assert_refused(world, result, "insurer_privacy", f"request/{request.id}", "privacy check")


def test_a_run_in_another_consumers_partition_is_refused(
    world: dict, authorize, instance: dg.DagsterInstance
) -> None:
    """An approved request launched in the partition of another authorized consumer: the
    delivery would be recorded in that consumer's history, so nothing leaves."""
    request = authorize("insurer_boxed")
    authorize("insurer_beside", approve=False)
    result = (
        world["defs"]
        .resolve_job_def(f"publish_{SCENARIO}")
        .execute_in_process(
            instance=instance,
            run_config=QUIET,
            raise_on_error=False,
            tags={publish.APPROVAL_TAG: str(request.id)},
            partition_key="insurer_beside",
        )
    )
    assert_refused(world, result, "insurer_boxed", f"product/{SCENARIO}", "partition")
    assert not (world["zone"] / "insurer_beside").exists()
    assert world["registry"].request(request.id).status == "approved"


def test_fields_not_covered_by_the_authorization_are_refused(
    world: dict, authorize, instance: dg.DagsterInstance
) -> None:
    fields = [f.name for f in world["product"].fields][1:]
    request = authorize("insurer_narrow", fields=fields)
    result = publish_run(world["defs"], instance, SCENARIO, request.id)
    assert_refused(world, result, "insurer_narrow", f"request/{request.id}", "does not cover")


def test_a_request_without_an_authorization_is_refused(
    world: dict, authorize, instance: dg.DagsterInstance
) -> None:
    bound = authorize("insurer_unbound", approve=False)
    registry = world["registry"]
    with registry.engine.begin() as conn:  # unbinding a filed request in the table is seen
        conn.execute(
            text("UPDATE approval_requests SET authorization_id = NULL WHERE id = :id"),
            {"id": bound.id},
        )
    with pytest.raises(RegistryError, match=r"not what its egress\.requested entry recorded"):
        registry.decide(bound.id, approve=True, reviewer=REVIEWER, comment="同意")
    request, _ = registry.file_request(  # filed without one, as nothing in the platform does
        "egress-sensor",
        scenario=SCENARIO,
        consumer="insurer_nogrant",
        authorization_id=None,
        content_hash=bound.content_hash,
        row_count=bound.row_count,
        product_path=bound.product_path,
        product_run_id=bound.product_run_id,
        evidence={},
    )
    registry.decide(request.id, approve=True, reviewer=REVIEWER, comment="同意")
    result = publish_run(world["defs"], instance, SCENARIO, request.id)
    reason = "names no authorization"
    assert_refused(world, result, "insurer_nogrant", f"request/{request.id}", reason)


def test_a_suspended_authorization_refuses_and_a_resumed_one_delivers(
    world: dict, authorize, instance: dg.DagsterInstance
) -> None:
    request = authorize("insurer_paused")
    registry = world["registry"]
    assert request.authorization_id is not None
    registry.change_authorization(request.authorization_id, "suspended", actor=ADMIN, reason="核查")
    refused = publish_run(world["defs"], instance, SCENARIO, request.id)
    assert_refused(world, refused, "insurer_paused", f"request/{request.id}", "is suspended")
    registry.change_authorization(request.authorization_id, "active", actor=ADMIN, reason="恢复")
    resumed = publish_run(world["defs"], instance, SCENARIO, request.id)
    assert resumed.success, failures(resumed)
    folder = world["zone"] / "insurer_paused" / SCENARIO / "v1"
    assert sorted(p.name for p in folder.iterdir()) == ["data.parquet", "manifest.json"]
    assert registry.request(request.id).status == "published"


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        (None, "publish runs only for an approved request"),
        ("7; DROP TABLE deliveries", "not a request id"),
        ("987654", "no approval request 987654"),
    ],
)
def test_a_missing_malformed_or_unknown_request_tag_is_refused_and_audited(
    world: dict, instance: dg.DagsterInstance, tag: str | None, reason: str
) -> None:
    before = sorted(world["zone"].rglob("*")) if world["zone"].exists() else []
    result = publish_run(world["defs"], instance, SCENARIO, tag)
    assert not result.success and reason in failures(result)
    assert (sorted(world["zone"].rglob("*")) if world["zone"].exists() else []) == before
    [entry] = [
        e
        for e in world["registry"].audit_log()
        if e.action == "egress.refused" and e.detail.get("run_id") == result.run_id
    ]
    assert entry.subject == f"product/{SCENARIO}" and reason in entry.detail["reason"]
