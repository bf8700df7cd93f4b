"""The build record products write and egress reads: what was written is what is read."""

from dataclasses import replace

import dagster as dg
import pytest

from ycpipelines.foundation.keys import product_key
from ycpipelines.products.records import ProductBuild, build_metadata, read_build

ROW_LEVEL = ProductBuild(
    scenario="underwriting_features",
    run_id="",
    path="/lake/product/underwriting_features/data.parquet",
    content_hash="sha256:ab12",
    rows=42,
    committed=True,
    contributions={"health": 30.0, "population": 12.0},
    key_versions=("v2",),
    residual_identifiers=0,
    smallest_group=5,
    reidentification={"classes": 7, "max_risk": 0.2},
)
AGGREGATE = ProductBuild(
    scenario="disease_stats",
    run_id="",
    path="/lake/product/disease_stats/data.parquet",
    content_hash="sha256:cd34",
    rows=3,
    committed=False,
    contributions={},
    key_versions=(),
    residual_identifiers=1,
    small_cells=2,
    suppress_below=10,
    rejected_to="/lake/rejected/run",
)


@pytest.mark.parametrize("build", [ROW_LEVEL, AGGREGATE], ids=["row_level", "aggregate"])
def test_a_build_reads_back_as_it_was_written(build: ProductBuild) -> None:
    @dg.asset(key=product_key(build.scenario))
    def built() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=build_metadata(build))

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([built], instance=instance)
        event = instance.get_latest_materialization_event(product_key(build.scenario))
    assert event is not None
    assert read_build(event) == replace(build, run_id=result.run_id)


def test_a_materialization_without_the_record_reads_as_an_uncommitted_empty_build() -> None:
    @dg.asset(key=product_key("forged"))
    def forged() -> None:
        return None

    with dg.DagsterInstance.ephemeral() as instance:
        dg.materialize([forged], instance=instance)
        event = instance.get_latest_materialization_event(product_key("forged"))
    assert event is not None
    build = read_build(event)
    assert (build.committed, build.content_hash, build.contributions) == (False, "", {})


@pytest.mark.parametrize(
    "metadata",
    [
        {"committed": True},
        {"committed": True, "path": "/lake/x.parquet"},
        {"committed": True, "content_hash": "sha256:ab12"},
        {"committed": True, "path": "/lake/x.parquet", "content_hash": "md5:ab12"},
        {"committed": "yes", "path": "/lake/x.parquet", "content_hash": "sha256:ab12"},
    ],
    ids=["flag_alone", "no_hash", "no_path", "not_sha256", "flag_not_true"],
)
def test_a_partial_record_is_no_committed_build(metadata: dict) -> None:
    @dg.asset(key=product_key("partial"))
    def partial() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=metadata)

    with dg.DagsterInstance.ephemeral() as instance:
        dg.materialize([partial], instance=instance)
        event = instance.get_latest_materialization_event(product_key("partial"))
    assert event is not None
    assert read_build(event).committed is False
