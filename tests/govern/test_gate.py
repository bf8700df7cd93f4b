"""The quality gate on demo partitions: JSON alone changes the verdict, table-level gates fail it,
the score measures what it says, and no raw identifier reaches check metadata."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET
from ycpipelines.foundation.lake import Lake, Partition
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.govern.gate import ROW_COUNT_GATE, previous_rows, validate
from ycpipelines.govern.suites import load_suite

from helpers import checks, edited_suite

DATASET = "outpatient_visits"
FIRST, SECOND, THIRD = "2025-06-28", "2025-06-29", "2025-06-30"


def ingest(definitions: dg.Definitions, day: str, instance: dg.DagsterInstance):
    return definitions.resolve_job_def(f"ingest_{DATASET}").execute_in_process(
        partition_key=partition_key("health", day),
        instance=instance,
        run_config=QUIET,
        raise_on_error=False,
    )


def gate_metadata(result: dg.ExecuteInProcessResult) -> dict:
    evaluation = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "quality_gate"
    )
    return {k: v.value for k, v in evaluation.metadata.items()}


def std_file(home: Path, day: str) -> Path:
    return home / "lake/std" / DATASET / "bureau=health" / f"date={day}/data.parquet"


def rejected_std(result: dg.ExecuteInProcessResult) -> Path:
    """The std partition a failed gate kept aside under `rejected/`."""
    std = next(
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["std", DATASET])
    )
    paths = std.metadata["rejected_to"].value.split(", ")
    return Path(next(p for p in paths if "/rejected/std/" in p))


@pytest.fixture(scope="module")
def committed(yc_home: Path, sources: dict, instance: dg.DagsterInstance) -> dict[str, dict]:
    """The first two days ingested with the shipped suite; the gate's metadata of each."""
    definitions = build_definitions()
    runs = {day: ingest(definitions, day, instance) for day in (FIRST, SECOND)}
    assert all(run.success for run in runs.values())
    return {day: gate_metadata(run) for day, run in runs.items()}


def test_a_tighter_threshold_in_the_json_alone_fails_the_gate(
    yc_home: Path, committed: dict, instance: dg.DagsterInstance, catalog_copy: Path
) -> None:
    def tighter_fee(suite: dict) -> None:
        for expectation in suite["expectations"]:
            if expectation["type"] == "expect_column_values_to_be_between":
                expectation["kwargs"]["max_value"] = 300

    with edited_suite(catalog_copy, DATASET, tighter_fee):
        strict = build_definitions(load_catalog())
    blocked = ingest(strict, THIRD, instance)
    assert not blocked.success and checks(blocked)["quality_gate"] is False
    assert not (yc_home / "lake/safe" / DATASET / "bureau=health" / f"date={THIRD}").exists()
    metadata = gate_metadata(blocked)
    assert metadata["failed"] == "expect_column_values_to_be_between(fee)"
    fee = next(r for r in metadata["results"] if r["expectation"] == metadata["failed"])
    over = duckdb.execute(f"SELECT count(*) FROM '{rejected_std(blocked)}' WHERE fee > 300")
    assert fee["unexpected_count"] == over.fetchone()[0] > 0

    passed = ingest(build_definitions(), THIRD, instance)
    assert passed.success and checks(passed)["quality_gate"] is True


def test_check_metadata_never_shows_raw_identifiers(
    yc_home: Path, committed: dict, instance: dg.DagsterInstance, catalog_copy: Path
) -> None:
    def failing_on_identifiers(suite: dict) -> None:
        suite["meta"]["failing_value_samples"] = 5
        for column in ("id_number", "phone", "patient_name"):
            suite["expectations"].append(
                {
                    "type": "expect_column_values_to_match_regex",
                    "kwargs": {"column": column, "regex": "^impossible$"},
                }
            )
        suite["expectations"].append(
            {
                "type": "expect_column_most_common_value_to_be_in_set",
                "kwargs": {"column": "id_number", "value_set": ["impossible"]},
            }
        )
        suite["expectations"].append(  # cannot run: a text column compared with numbers
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "patient_name", "min_value": 0, "max_value": 1},
            }
        )

    with edited_suite(catalog_copy, DATASET, failing_on_identifiers):
        strict = build_definitions(load_catalog())
    blocked = ingest(strict, SECOND, instance)
    assert checks(blocked)["quality_gate"] is False
    metadata = gate_metadata(blocked)
    shown = json.dumps(
        [
            {k: v.value for k, v in e.metadata.items()}
            for e in blocked.get_asset_check_evaluations()
        ],
        ensure_ascii=False,
        default=str,
    )
    results = {r["expectation"]: r for r in metadata["results"]}
    for column in ("id_number", "phone", "patient_name"):
        masked = results[f"expect_column_values_to_match_regex({column})"]["samples"]
        assert len(masked) == 5 and all("*" in s for s in masked)
    common = results["expect_column_most_common_value_to_be_in_set(id_number)"]["observed"]
    assert common and all("*" in s for s in common)
    assert "Binder Error" in results["expect_column_values_to_be_between(patient_name)"]["error"]
    raw = yc_home / "lake/raw/health" / DATASET / "bureau=health" / f"date={SECOND}/data.parquet"
    values = set()
    for source in (raw, rejected_std(blocked)):
        rows = duckdb.execute(f"SELECT id_number, phone, patient_name FROM '{source}'").fetchall()
        values |= {v for row in rows for v in row if v}
    assert len(values) > 100
    assert not [v for v in values if v in shown]


def variant(source: Path, out: Path, query: str) -> Path:
    table = f"read_parquet('{source}', hive_partitioning = false)"
    duckdb.execute(f"COPY ({query.format(t=table)}) TO '{out}' (FORMAT parquet)")
    return out


@pytest.mark.parametrize(
    ("query", "failed"),
    [
        ("SELECT * FROM {t}", []),
        ("SELECT * FROM {t} WHERE _line % 10 = 0", ["expect_table_row_count_to_be_between"]),
        ("SELECT * EXCLUDE (note) FROM {t}", ["expect_table_columns_to_match_set"]),
        (
            "SELECT * FROM {t} UNION ALL (SELECT * FROM {t} ORDER BY _line LIMIT 3)",
            ["expect_column_values_to_be_unique(visit_id)"],
        ),
    ],
)
def test_table_level_gates(
    yc_home: Path, committed: dict, tmp_path: Path, query: str, failed: list[str]
) -> None:
    dataset = load_catalog().dataset(DATASET)
    partition = Partition("health", SECOND)
    previous = previous_rows(Lake(yc_home / "lake"), DATASET, partition)
    first = duckdb.execute(f"SELECT count(*) FROM '{std_file(yc_home, FIRST)}'").fetchone()[0]
    assert previous == first == committed[SECOND]["previous_rows"]
    assert previous_rows(Lake(yc_home / "lake"), DATASET, Partition("health", FIRST)) is None

    data = variant(std_file(yc_home, SECOND), tmp_path / "data.parquet", query)
    gate = validate(data, load_suite(dataset), dataset, partition, previous)
    expected = [f"{f}({ROW_COUNT_GATE})" if f.endswith("between") else f for f in failed]
    assert gate.failed == expected
    assert gate.success is (failed == []), "the verdict is a pass exactly when nothing failed"
    if "unique" in query:
        unique = next(r for r in gate.results if r["expectation"] == failed[0])
        assert unique["unexpected_count"] == 6


def test_quality_score_dimensions(yc_home: Path, committed: dict, tmp_path: Path) -> None:
    dataset = load_catalog().dataset(DATASET)
    suite = load_suite(dataset)
    # The end of the day in Asia/Shanghai (UTC+8), plus the dataset's freshness.
    deadline = datetime.fromisoformat(f"{SECOND}T16:00:00+00:00").astimezone(UTC) + timedelta(
        hours=dataset.source.freshness_hours
    )
    data = variant(
        std_file(yc_home, SECOND),
        tmp_path / "data.parquet",
        f"""SELECT * REPLACE (
            CASE WHEN _line % 5 = 0 THEN NULL ELSE phone END AS phone,
            CASE WHEN _line % 4 = 0 THEN TIMESTAMPTZ '{deadline - timedelta(seconds=1)}'
                ELSE TIMESTAMPTZ '{deadline + timedelta(seconds=1)}' END AS _loaded_at)
        FROM {{t}}""",
    )
    rows, nulls, timely = duckdb.execute(
        f"SELECT count(*), count(*) FILTER (WHERE phone IS NULL), "
        f"count(*) FILTER (WHERE _line % 4 = 0) FROM '{data}'"
    ).fetchone()
    not_null = sum(e["type"].endswith("not_be_null") for e in suite.document["expectations"])
    gate = validate(data, suite, dataset, Partition("health", SECOND))
    score = gate.score
    assert score.completeness == pytest.approx(1 - nulls / (rows * not_null))
    assert score.timeliness == pytest.approx(timely / rows)
    assert score.uniqueness == 1.0
    assert 0 < score.timeliness < 1 and 0 < score.completeness < 1
    metadata = gate.metadata()
    assert metadata["quality_score"] == pytest.approx(
        (score.completeness + score.validity + score.uniqueness + score.timeliness) / 4
    )
    assert all(isinstance(metadata[k], float) for k in ("completeness", "validity", "timeliness"))
