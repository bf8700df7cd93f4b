"""On the real PostgreSQL: the registry records decisions and detects edits to its audit chain;
the production Dagster instance (deploy/dagster.yaml, dagster-postgres) stores real runs."""

from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.test_utils import instance_for_test
from sqlalchemy import make_url, text

from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.foundation.settings import PROJECT_ROOT
from ycpipelines.registry import Registry, RegistryError

from helpers import accounts, upgraded


def request(registry: Registry, content: str) -> int:
    filed, created = registry.file_request(
        "egress-sensor",
        scenario="underwriting_features",
        consumer="demo_insurer",
        content_hash=content,
        row_count=3,
        product_path="/lake/product.parquet",
        product_run_id="run-1",
        evidence={"k": 5},
    )
    assert created
    return filed.id


def test_review_decisions_and_audit_chain_on_postgresql(yc_home: Path, pg_url: str) -> None:
    registry = Registry(upgraded(pg_url))
    first = request(registry, "sha256:aaa")
    assert (
        registry.file_request(
            "egress-sensor",
            scenario="underwriting_features",
            consumer="demo_insurer",
            content_hash="sha256:aaa",
            row_count=3,
            product_path="/lake/product.parquet",
            product_run_id="run-2",
            evidence={},
        )[1]
        is False
    ), "the same content is filed once"
    second = request(registry, "sha256:bbb")
    assert registry.request(first).status == "superseded"
    accounts(registry, {"李审核": ["reviewer"]})
    with pytest.raises(RegistryError, match="superseded, not pending"):
        registry.decide(first, approve=True, reviewer="李审核", comment="ok")
    registry.decide(second, approve=True, reviewer="李审核", comment="字段清单与授权一致")
    assert [r.status for r in registry.requests()] == ["superseded", "approved"]
    assert registry.request(second).reviewer == "李审核"
    assert registry.verify_audit().ok
    assert [e.action for e in registry.audit_log()] == [
        "egress.requested",
        "egress.superseded",
        "egress.requested",
        "user.roles",
        "user.roles",
        "egress.approved",
    ]

    with registry.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE id = 6"))
    assert "entry 6 does not verify" in registry.verify_audit().problems[0].message
    registry.engine.dispose()


def test_the_production_instance_stores_runs_in_postgresql(
    pg_url: str, sources: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_url(pg_url)
    for name, value in {
        "HOST": url.host,
        "PORT": str(url.port),
        "USER": url.username,
        "PASSWORD": "",
        "DB": url.database,
    }.items():
        monkeypatch.setenv(f"DAGSTER_PG_{name}", value or "")
    config = yaml.safe_load((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())
    with instance_for_test(overrides=config) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        job = build_definitions().resolve_job_def("ingest_residents")
        key = partition_key("population", sources["end"])
        assert job.execute_in_process(
            partition_key=key, instance=instance, run_config=QUIET
        ).success
        [run] = instance.get_runs()
        assert run.tags["dagster/partition/bureau"] == "population"
        stored = set(instance.get_asset_keys())
        assert {dg.AssetKey(["safe", "residents"]), dg.AssetKey(["std", "residents"])} <= stored
