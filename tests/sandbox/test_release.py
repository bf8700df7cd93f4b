"""A sandbox result (隐私计算沙箱) leaves only through the one delivery path: under an active
authorization, with a decision in the audit chain, into a sealed zone, recorded once; every
refusal audited. The registry is the real PostgreSQL; the query runs on a small safe/ lake."""

import json
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from ycpipelines.catalog import load_catalog
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.lake import Lake, duck
from ycpipelines.registry import Registry
from ycpipelines.registry.models import SandboxQuery
from ycpipelines.sandbox.query import QueryRefused
from ycpipelines.sandbox.service import deliver_result, submit

from helpers import ADMIN, accounts, upgraded

REVIEWER = "孙审核"
BY_COUNTY = {
    "dataset": "outpatient_visits",
    "dimensions": ["county"],
    "measures": [{"kind": "count"}],
    "epsilon": 0.5,
}


@pytest.fixture
def world(tmp_path: Path, pg_url: str) -> dict:
    """Two counties of 150 visits each in safe/, a registry, an empty zone."""
    folder = tmp_path / "lake" / "safe" / "outpatient_visits" / "bureau=health" / "date=all"
    folder.mkdir(parents=True)
    with duck() as con:
        con.execute(
            f"""COPY (SELECT 'p' || (i % 100) AS person_pid,
                             CASE WHEN i % 2 = 0 THEN '兴庆区' ELSE '金凤区' END AS county,
                             100 + i AS fee
                      FROM range(300) t(i))
                TO '{folder / "data.parquet"}' (FORMAT parquet)"""
        )
    return {
        "registry": Registry(upgraded(pg_url)),
        "lake": Lake(tmp_path / "lake"),
        "zone": tmp_path / "zone",
        "catalog": load_catalog(),
    }


@pytest.fixture
def approved(world: dict) -> Callable[..., SandboxQuery]:
    """`approved(consumer)`: a reviewer, a sandbox grant with a budget, a query submitted by the
    consumer, and its result approved by the reviewer unless `approve=False`."""
    registry: Registry = world["registry"]
    accounts(registry, {REVIEWER: ["reviewer"]})
    today = pilot_today()

    def make(consumer: str, approve: bool = True) -> SandboxQuery:
        registry.grant(
            consumer=consumer,
            scenario="safe/outpatient_visits",
            fields=["county", "fee"],
            valid_from=today - timedelta(days=1),
            valid_to=today + timedelta(days=30),
            plan=f"预案-{consumer}",
            actor=ADMIN,
            epsilon=2.0,
        )
        query = submit(BY_COUNTY, consumer, world["catalog"], registry, world["lake"], today)
        assert query.request_id is not None
        if approve:
            registry.decide(query.request_id, approve=True, reviewer=REVIEWER, comment="聚合")
        return query

    return make


def refusal(registry: Registry, subject: str) -> str:
    """The reason of the newest audited refusal about `subject`."""
    entries = [e for e in registry.history(subject) if e.action == "egress.refused"]
    assert entries, f"no audited refusal of {subject}"
    return entries[-1].detail["reason"]


def test_a_suspended_authorization_refuses_and_a_resumed_one_delivers_into_a_sealed_zone(
    world: dict, approved
) -> None:
    registry, zone = world["registry"], world["zone"]
    query = approved("pharma_s")
    grant = query.authorization_id
    registry.change_authorization(grant, "suspended", actor=ADMIN, reason="核查")
    with pytest.raises(QueryRefused, match="is suspended"):
        deliver_result(query.id, "pharma_s", registry, zone)
    assert not (zone / "pharma_s").exists()
    assert "is suspended" in refusal(registry, f"request/{query.request_id}")

    registry.change_authorization(grant, "active", actor=ADMIN, reason="恢复")
    path = deliver_result(query.id, "pharma_s", registry, zone)
    assert path == zone / "pharma_s" / "sandbox" / f"query-{query.id}" / "result.parquet"
    for item in [zone / "pharma_s", *(zone / "pharma_s").rglob("*")]:
        assert stat.S_IMODE(item.stat().st_mode) == (0o700 if item.is_dir() else 0o600), item
    manifest = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["reviewer"] == REVIEWER and manifest["query"] == query.id
    assert manifest["rows"] == 2
    assert deliver_result(query.id, "pharma_s", registry, zone) == path, "delivered once"
    assert len(registry.deliveries(consumer="pharma_s")) == 1
    [published] = [e for e in registry.audit_log() if e.action == "egress.published"]
    [decision] = [
        e for e in registry.history(f"request/{query.request_id}") if e.action == "egress.approved"
    ]
    assert published.detail["decision_entry"] == decision.id


def test_a_status_flipped_in_the_database_does_not_release_the_result(
    world: dict, approved
) -> None:
    registry = world["registry"]
    query = approved("pharma_f", approve=False)
    with registry.engine.begin() as conn:
        conn.execute(
            text("UPDATE approval_requests SET status = 'approved', reviewer = :r WHERE id = :id"),
            {"r": REVIEWER, "id": query.request_id},
        )
    with pytest.raises(QueryRefused, match="the audit chain leaves it pending"):
        deliver_result(query.id, "pharma_f", registry, world["zone"])
    assert not (world["zone"] / "pharma_f").exists()
    assert "leaves it pending" in refusal(registry, f"request/{query.request_id}")


def test_a_result_replaced_after_review_is_refused(world: dict, approved) -> None:
    registry = world["registry"]
    query = approved("pharma_r")
    assert query.result_path is not None
    Path(query.result_path).write_bytes(Path(query.result_path).read_bytes() + b"\0")
    with pytest.raises(QueryRefused, match="changed since"):
        deliver_result(query.id, "pharma_r", registry, world["zone"])
    assert not (world["zone"] / "pharma_r").exists()
    assert "changed since" in refusal(registry, f"request/{query.request_id}")


def test_someone_elses_or_an_unknown_query_is_refused_and_audited(world: dict, approved) -> None:
    registry = world["registry"]
    query = approved("pharma_o")
    with pytest.raises(QueryRefused, match="not pharma_x's"):
        deliver_result(query.id, "pharma_x", registry, world["zone"])
    assert "not pharma_x's" in refusal(registry, f"query/{query.id}")
    with pytest.raises(QueryRefused, match="no sandbox query 98765"):
        deliver_result(98765, "pharma_x", registry, world["zone"])
    assert "no sandbox query" in refusal(registry, "query/98765")
    assert not world["zone"].exists()
