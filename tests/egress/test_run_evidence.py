"""Events reported outside any run (runless: `reportAssetCheckEvaluations`,
`reportRunlessAssetEvents`, REST `report_asset_*`) are no evidence: they neither pass a quality
gate, nor hide a product's build, nor block its privacy checks."""

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from ycpipelines.catalog import Product, load_catalog
from ycpipelines.egress import review
from ycpipelines.egress.checks import verify_privacy
from ycpipelines.egress.review import file_requests, latest_build, quality_of_inputs
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.keys import Layer, product_key, std_key
from ycpipelines.govern.checks import QUALITY_GATE
from ycpipelines.products.checks import privacy_checks
from ycpipelines.products.records import ProductBuild, build_metadata
from ycpipelines.registry import Registry

from helpers import ADMIN, accounts

SCENARIO = "disease_stats"
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def product() -> Product:
    return next(p for p in load_catalog().products if p.scenario == SCENARIO)


def built(instance: dg.DagsterInstance, product: Product) -> None:
    """One committed build of the product by a run, its privacy checks passed."""
    key = product_key(SCENARIO)
    checks = [dg.AssetCheckSpec(name, asset=key) for name in privacy_checks(product)]

    @dg.asset(key=key, check_specs=checks)
    def build() -> dg.MaterializeResult:
        record = ProductBuild(
            scenario=SCENARIO, run_id="", path="/lake/x.csv", content_hash=DIGEST, rows=3,
            committed=True, contributions={"health": 3.0}, key_versions=(),
            residual_identifiers=0, small_cells=0, suppress_below=5,
        )  # fmt: skip
        results = [dg.AssetCheckResult(check_name=c.name, passed=True) for c in checks]
        return dg.MaterializeResult(metadata=build_metadata(record), check_results=results)

    assert dg.materialize([build], instance=instance).success


def test_runless_reports_neither_hide_nor_block_a_build(
    instance: dg.DagsterInstance, product: Product
) -> None:
    built(instance, product)
    key = product_key(SCENARIO)
    assert verify_privacy(instance, product, DIGEST) == {"health": 3.0}
    forged = {"committed": True, "path": "/elsewhere.csv", "content_hash": "sha256:" + "cd" * 32}
    instance.report_runless_asset_event(dg.AssetMaterialization(key, metadata=forged))
    for name in privacy_checks(product):
        failed = dg.AssetCheckEvaluation(asset_key=key, check_name=name, passed=False)
        instance.report_runless_asset_event(failed)
    assert instance.get_latest_materialization_event(key).run_id == ""  # the forgery is newest
    build = latest_build(instance, product)
    assert build is not None and build.content_hash == DIGEST and build.run_id
    assert verify_privacy(instance, product, DIGEST) == {"health": 3.0}


def test_a_runless_quality_gate_passes_nothing(
    instance: dg.DagsterInstance, product: Product
) -> None:
    catalog = load_catalog()
    ref = next(r for r in product.inputs if r.layer == Layer.SAFE)
    before = quality_of_inputs(instance, catalog, product)[ref.name]
    key = std_key(catalog.dataset(ref.name))
    for partition in ("health|2025-06-01", "health|2025-06-02"):
        passed = dg.AssetCheckEvaluation(
            asset_key=key, check_name=QUALITY_GATE, passed=True, partition=partition
        )
        instance.report_runless_asset_event(passed)
    assert quality_of_inputs(instance, catalog, product)[ref.name] == before


def test_a_sensor_tick_reads_the_gates_history_only_for_a_new_request(
    instance: dg.DagsterInstance, product: Product, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The evidence reads every partition's quality gate: gathered when a consumer's request is
    filed, not again on each tick that finds the request already filed."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    Registry.upgrade(url)
    store = Registry(url)
    accounts(store, {})
    today = pilot_today()
    store.grant(
        consumer="insurer_z",
        scenario=SCENARIO,
        fields=[f.name for f in product.fields],
        valid_from=today,
        valid_to=today + timedelta(days=30),
        plan="预案: 停止交付并通知召回",
        actor=ADMIN,
    )
    built(instance, product)
    build = latest_build(instance, product)
    assert build is not None
    histories = []
    reader = review.run_check_history
    monkeypatch.setattr(review, "run_check_history", lambda *a: histories.append(1) or reader(*a))

    def tick() -> list[int]:
        grants = store.active_authorizations(SCENARIO, today)
        return file_requests(store, instance, load_catalog(), product, build, grants)

    assert len(tick()) == 1 and histories, "the new request's evidence reads the gates"
    read = len(histories)
    assert tick() == [] and len(histories) == read, "a filed request reads nothing again"
    assert [r.consumer for r in store.requests()] == ["insurer_z"]
    store.engine.dispose()
