"""Collection from the real PostgreSQL and MariaDB servers and from SQLite: the same rows either
way, re-runs identical, drift fails cleanly, incremental runs read only what changed, and a run
killed mid-write leaves the committed partition as it was."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from sqlalchemy import create_engine, text

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET, partition_tags
from ycpipelines.demo.servers import load_into
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.foundation.settings import PROJECT_ROOT
from ycpipelines.registry import Registry

from helpers import failures, materializations

DAY = "2025-06-30"
KEY = partition_key("health", DAY)
VISITS = dg.AssetKey(["raw", "health", "outpatient_visits"])
SOURCE_COLUMNS = [f.name for f in load_catalog().dataset("outpatient_visits").fields]
OP = "raw__health__outpatient_visits"
FULL_REFRESH = {"ops": {OP: {"config": {"full_refresh": True}}}}
# Switching the bureau's system between servers is a planned migration of its column types.
MIGRATED = {"ops": {OP: {"config": {"full_refresh": True, "accept_source_types": True}}}}


@pytest.fixture(scope="module")
def urls(yc_home: Path, sources: dict, databases: Callable[[str], str]) -> dict[str, str]:
    """The health bureau's database on SQLite, PostgreSQL and MariaDB, with the same rows."""
    found = {"sqlite": f"sqlite:///{yc_home / 'sources' / 'health.sqlite'}"}
    for server in ("postgresql", "mariadb"):
        found[server] = databases(server)
        load_into(found[server], yc_home / "sources", load_catalog())
    return found


@contextmanager
def source(url: str) -> Iterator[None]:
    os.environ["YC_SOURCE_HEALTH"] = url
    try:
        yield
    finally:
        del os.environ["YC_SOURCE_HEALTH"]


def ingest(instance: dg.DagsterInstance, url: str, **config: object) -> dg.ExecuteInProcessResult:
    with source(url):
        return (
            build_definitions()
            .resolve_job_def("ingest_outpatient_visits")
            .execute_in_process(
                partition_key=KEY,
                instance=instance,
                raise_on_error=False,
                run_config={**QUIET, **config},
            )
        )


def lake_file(home: Path, layer: str) -> Path:
    bureau = "health/" if layer == "raw" else ""
    return (
        home / "lake" / layer / f"{bureau}outpatient_visits/bureau=health/date={DAY}/data.parquet"
    )


def content(path: Path, columns: list[str], order: str = "_line") -> list[tuple]:
    return (
        duckdb.connect()
        .execute(f"SELECT {', '.join(columns)} FROM '{path}' ORDER BY {order}")
        .fetchall()
    )


def day_count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(
            text(
                "SELECT count(*) FROM outpatient_visits WHERE visit_time >= :a AND visit_time < :b"
            ),
            {"a": DAY, "b": "2025-07-01"},
        ).scalar()
    engine.dispose()
    return count


def test_every_server_gives_the_same_standardized_rows_and_reruns_are_identical(
    urls: dict[str, str], yc_home: Path, instance: dg.DagsterInstance
) -> None:
    standardized = {}
    for backend, url in urls.items():
        runs = []
        for config in (MIGRATED, FULL_REFRESH):
            result = ingest(instance, url, **config)
            assert result.success, failures(result)
            runs.append(content(lake_file(yc_home, "raw"), [*SOURCE_COLUMNS, "_line", "_row_hash"]))
        assert runs[0] == runs[1], f"{backend}: a re-run changed the partition"
        assert len(runs[0]) == day_count(url), f"{backend}: rows lost or duplicated"
        meta = materializations(instance, VISITS)[KEY]
        assert meta["source_types"]["fee"] == "numeric"
        standardized[backend] = content(lake_file(yc_home, "std"), SOURCE_COLUMNS, "ALL")
    assert standardized["postgresql"] == standardized["sqlite"] == standardized["mariadb"]


def test_a_column_changing_type_fails_naming_it_and_keeps_the_partition(
    urls: dict[str, str], yc_home: Path, instance: dg.DagsterInstance
) -> None:
    assert ingest(instance, urls["postgresql"], **MIGRATED).success
    before = lake_file(yc_home, "raw").read_bytes()
    engine = create_engine(urls["postgresql"])
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE outpatient_visits ALTER COLUMN fee TYPE varchar(20)"))
    try:
        result = ingest(instance, urls["postgresql"], **FULL_REFRESH)
        assert not result.success
        assert (
            "dataset outpatient_visits: column fee changed type in outpatient_visits: "
            "expected numeric, found string"
        ) in failures(result)
        assert lake_file(yc_home, "raw").read_bytes() == before
    finally:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "ALTER TABLE outpatient_visits ALTER COLUMN fee TYPE numeric(14,2) "
                    "USING fee::numeric"
                )
            )
        engine.dispose()
    assert ingest(instance, urls["postgresql"]).success


def test_incremental_runs_read_only_rows_changed_since_the_watermark(
    urls: dict[str, str], yc_home: Path, instance: dg.DagsterInstance
) -> None:
    assert ingest(instance, urls["postgresql"], **MIGRATED).success
    registry = Registry()
    mark = registry.watermark("outpatient_visits", "health", DAY)
    rows_before = materializations(instance, VISITS)[KEY]["dagster/row_count"]
    engine = create_engine(urls["postgresql"])
    with engine.begin() as conn:
        at_watermark = conn.execute(
            text("SELECT count(*) FROM outpatient_visits WHERE updated_at = :high"),
            {"high": mark.high},
        ).scalar()
        changed, fee, updated = conn.execute(
            text(
                "SELECT visit_id, fee, updated_at FROM outpatient_visits WHERE visit_time >= :d "
                "AND visit_id IS NOT NULL ORDER BY visit_id LIMIT 1"
            ),
            {"d": DAY},
        ).one()
        conn.execute(
            text(
                "UPDATE outpatient_visits SET fee = 999.99, updated_at = :later WHERE visit_id = :v"
            ),
            {"later": "2025-07-02 09:00:00", "v": changed},
        )
        conn.execute(
            text(
                "INSERT INTO outpatient_visits SELECT 'MZLATE0001', patient_name, id_number, "
                "phone, gender, birth_date, address, hospital, department, icd10_code, "
                "diagnosis, note, visit_time, fee, TIMESTAMP '2025-07-02 09:30:00' "
                "FROM outpatient_visits WHERE visit_id = :v"
            ),
            {"v": changed},
        )
    try:
        assert ingest(instance, urls["postgresql"]).success
    finally:  # the other tests compare this source with SQLite and MariaDB: put it back
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM outpatient_visits WHERE visit_id = 'MZLATE0001'"))
            conn.execute(
                text("UPDATE outpatient_visits SET fee = :f, updated_at = :u WHERE visit_id = :v"),
                {"f": fee, "u": updated, "v": changed},
            )
        engine.dispose()
    meta = materializations(instance, VISITS)[KEY]
    assert meta["incremental_after"] == mark.high
    # The changed row, the new one, and those at the old watermark (read again, replaced by key).
    assert meta["read"] == meta["collected"] == 2 + at_watermark
    assert meta["dagster/row_count"] == rows_before + 1
    lines = [line for (line,) in content(lake_file(yc_home, "raw"), ["_line"])]
    assert len(set(lines)) == len(lines), "rows read now follow the kept ones, lines stay unique"
    fees = dict(content(lake_file(yc_home, "raw"), ["visit_id", "fee"]))
    assert fees[changed] == "999.99" and "MZLATE0001" in fees
    assert registry.watermark("outpatient_visits", "health", DAY).high == "2025-07-02 09:30:00"


def test_a_run_killed_mid_write_leaves_the_committed_partition(
    urls: dict[str, str], yc_home: Path, instance: dg.DagsterInstance
) -> None:
    """A big day in PostgreSQL keeps the writer busy long enough to be killed in the act."""
    url = urls["postgresql"]
    assert ingest(instance, url, **MIGRATED).success
    committed = lake_file(yc_home, "raw")
    before = committed.read_bytes()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outpatient_visits SELECT 'BIG' || g || visit_id, patient_name,"
                " id_number, phone, gender, birth_date, address, hospital, department,"
                " icd10_code, diagnosis, note, visit_time, fee, updated_at"
                " FROM outpatient_visits, generate_series(1, 1500) g WHERE visit_time >= :d"
            ),
            {"d": DAY},
        )
    env = {**os.environ, "YC_SOURCE_HEALTH": url}
    writer = subprocess.Popen(
        [
            Path(sys.executable).parent / "dagster",
            "asset",
            "materialize",
            "-m",
            "ycpipelines.definitions",
            "--select",
            "raw/health/outpatient_visits",
            "--partition",
            KEY,
            "--config-json",
            '{"ops": {"raw__health__outpatient_visits": {"config": {"full_refresh": true}}}}',
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not list(committed.parent.glob(".*")) and writer.poll() is None:
        assert time.monotonic() < deadline, "the writer never started writing"
        time.sleep(0.005)
    os.killpg(writer.pid, signal.SIGKILL)
    writer.wait()
    assert list(committed.parent.glob(".*")), "killed after the write finished; nothing proven"
    assert committed.read_bytes() == before
    assert duckdb.connect().execute(f"SELECT count(*) FROM '{committed}'").fetchone()[0] > 0

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM outpatient_visits WHERE visit_id LIKE 'BIG%'"))
    engine.dispose()
    assert ingest(instance, url, **FULL_REFRESH).success
    assert not list(committed.parent.glob(".*")), "the re-run cleans what the killed run left"
    assert content(committed, ["count(*)"], "1") == [(day_count(url),)]


def test_shared_elements_that_disagree_with_the_register_are_recorded_masked(
    urls: dict[str, str], yc_home: Path, instance: dg.DagsterInstance, sources: dict
) -> None:
    defs = build_definitions()
    for day in ("2025-06-28", "2025-06-29", DAY):
        assert (
            defs.resolve_job_def("ingest_residents")
            .execute_in_process(
                partition_key=partition_key("population", day), instance=instance, run_config=QUIET
            )
            .success
        )
    assert ingest(instance, urls["sqlite"], **MIGRATED).success
    # The comparison reads the register too: it runs after both, as its own job.
    result = defs.resolve_job_def("check_outpatient_visits").execute_in_process(
        tags=partition_tags("health", DAY), instance=instance, run_config=QUIET
    )
    assert result.success, "one-source conflicts warn; they do not block"
    conflicts = Registry().conflicts("outpatient_visits")
    by_element: dict[str, int] = {}
    for c in conflicts:
        by_element[c.element] = by_element.get(c.element, 0) + 1
        assert c.authority == "residents" and c.day == DAY and c.row_key.startswith("MZ")
        if c.element == "person.birth_date":
            assert c.found.endswith("-**-**") and c.expected.endswith("-**-**")
    assert "person.name" not in by_element, "names agree in the demo data"
    assert by_element.get("person.gender", 0) > 0
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "one_source"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["conflicts_by_element"].value == by_element | {"person.name": 0}
    # Each disagreeing element is a feedback ticket to the bureau, naming rows, not values.
    tickets = {
        t.rule: t
        for t in Registry().tickets(dataset="outpatient_visits", bureau="health")
        if t.stage == "one_source" and t.day == DAY
    }
    assert {rule: t.count for rule, t in tickets.items()} == {
        f"conflict:{element}": n for element, n in by_element.items()
    }
    assert all(k.startswith("MZ") for t in tickets.values() for k in t.row_keys)
