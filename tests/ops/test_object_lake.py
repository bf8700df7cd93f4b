"""The lake on S3-compatible object storage, through the same `Lake` interface: the whole demo
lineage runs with `YC_LAKE=s3://…` against a local S3 endpoint, and nothing lands on local disk
but the consumer zones. (Object storage is the one part emulated here: moto's S3 server.)
The lineage runs on the job definitions Kubernetes runs (`YC_EXECUTOR=k8s`, one pod per step
there), their steps executed in process as `execute_in_process` does: there is no cluster."""

import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import fsspec
import pytest
from moto.server import ThreadedMotoServer

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import run_demo
from ycpipelines.foundation.lake import Lake, Partition, duck, file_digest
from ycpipelines.ops.executor import K8S_STEPS
from ycpipelines.registry import Registry

from helpers import materializations, totals

BUCKET = "ycp-lake"


@pytest.fixture(scope="module")
def s3(yc_home: Path) -> Iterator[fsspec.AbstractFileSystem]:
    """A local S3 endpoint with an empty bucket; the standard AWS_* variables point at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "ycp-test",
            "AWS_SECRET_ACCESS_KEY": "ycp-test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir(BUCKET)
    yield fs
    server.stop()


def keys(fs: fsspec.AbstractFileSystem, prefix: str) -> list[str]:
    return [k.removeprefix(f"{BUCKET}/") for k in fs.find(f"{BUCKET}/{prefix}")]


def test_partition_lookups_list_one_bureau_on_object_storage(s3) -> None:
    """The previous partition and "any committed" on S3: a gap longer than the days probed is
    found by listing the bureau's folder; other bureaus' partitions are not the answer."""
    lake = Lake(f"s3://{BUCKET}/lookups-test")
    for bureau, day in (
        ("health", "2025-05-01"),
        ("health", "2025-06-20"),
        ("other", "2025-05-30"),
    ):
        target = lake.file("std", "visits", Partition(bureau, day))
        target.write_bytes(b"parquet")
    assert not lake.any_committed("std", "residents")
    assert lake.any_committed("std", "visits")
    found = lake.latest_before("std", "visits", Partition("health", "2025-06-01"))
    assert found is not None and found.parent.name == "date=2025-05-01"
    assert lake.latest_before("std", "visits", Partition("health", "2025-05-01")) is None
    assert lake.latest_before("std", "visits", Partition("nobody", "2025-06-01")) is None


def test_staging_commits_rejects_and_cleans_up_on_object_storage(s3) -> None:
    lake = Lake(f"s3://{BUCKET}/staging-test")
    target = lake.file("std", "residents", Partition("public_security", "2025-06-01"))
    with duck() as con, lake.staging("run-1") as stage:
        con.execute(f"COPY (SELECT 1 AS v) TO '{stage.path(target)}' (FORMAT parquet)")
        assert lake.committed("std", "residents") == [], "readers see nothing before commit"
        stage.commit()
    assert lake.committed("std", "residents") == [target]

    with duck() as con, lake.staging("run-2") as stage:
        con.execute(f"COPY (SELECT 2 AS v) TO '{stage.path(target)}' (FORMAT parquet)")
        [kept] = stage.reject()
    with duck() as con:
        assert con.execute(f"SELECT v FROM read_parquet('{target}')").fetchall() == [(1,)]
        assert con.execute(f"SELECT v FROM read_parquet('{kept}')").fetchall() == [(2,)]
    assert str(kept).startswith(f"s3://{BUCKET}/staging-test/rejected/std/residents/")

    with duck() as con, pytest.raises(duckdb.CatalogException), lake.staging("run-3") as stage:
        con.execute(f"COPY (SELECT 3 AS v) TO '{stage.path(target)}' (FORMAT parquet)")
        con.execute("SELECT * FROM no_such_table")
    assert [k for k in keys(s3, "staging-test/std") if ".staged." in k] == [], "nothing left aside"


def test_the_whole_lineage_runs_on_object_storage(
    s3, yc_home: Path, sources: dict, instance: dg.DagsterInstance
) -> None:
    os.environ.update({"YC_LAKE": f"s3://{BUCKET}/lake", "YC_EXECUTOR": "k8s"})
    catalog = load_catalog()
    defs = build_definitions(catalog)
    assert {job.executor_def.name for job in defs.resolve_all_job_defs()} == {K8S_STEPS}
    registry = Registry()
    first, last = (date.fromisoformat(sources[k]) for k in ("first", "end"))
    result = run_demo(defs, catalog, instance, registry, first, last)
    lake = Lake(os.environ["YC_LAKE"])

    assert result.failed == []
    assert not (yc_home / "lake").exists(), "the lake is the bucket, not the local disk"
    stored = keys(s3, "lake")
    assert sum(k.startswith("lake/safe/") for k in stored) == len(catalog.datasets) * 3
    assert sum(k.startswith("lake/product/") for k in stored) == len(catalog.products)
    assert [k for k in stored if k.rsplit("/", 1)[-1].startswith(".")] == [], "no staged leftovers"

    for dataset in catalog.datasets:
        raw = materializations(instance, dg.AssetKey(["raw", dataset.bureau, dataset.id]))
        std = materializations(instance, dg.AssetKey(["std", dataset.id]))
        assert totals(raw, "read") == sources["datasets"][dataset.id]["rows"]
        with duck() as con:
            on_s3 = con.execute(
                f"SELECT count(*) FROM read_parquet('{lake.glob('std', dataset.id)}')"
            ).fetchone()[0]
        assert on_s3 == totals(std, "dagster/row_count"), dataset.id

    assert len(result.published) == len(catalog.products)
    for delivered in result.published:
        manifest = json.loads((delivered.parent / "manifest.json").read_text(encoding="utf-8"))
        product = lake.product_file(manifest["scenario"])
        assert manifest["product_sha256"] == file_digest(product)
        assert manifest["sha256"] == file_digest(delivered)
