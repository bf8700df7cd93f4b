"""Standards normalize what bureaus send; a failing quality gate blocks de-identification."""

import json
import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.govern.standards import MACROS

from helpers import checks, failures, materializations

DAY = "2025-06-29"


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    for macro in MACROS:
        connection.execute(macro)
    return connection


STANDARDS = load_catalog().standards


def standardized(con: duckdb.DuckDBPyConnection, standard: str, raw: str | None) -> tuple:
    s = STANDARDS[standard]
    value = con.execute(f"SELECT {s.normalized('$1')}", [raw]).fetchone()[0]
    test = s.is_valid("$1")
    valid = con.execute(f"SELECT {test}", [value]).fetchone()[0] if test else None
    return value, valid


@pytest.mark.parametrize(
    ("raw", "expected", "valid"),
    [
        ("640122197203045511", "640122197203045511", True),  # python-stdnum agrees
        ("64010419900101123x", "64010419900101123X", True),
        ("640104900101123", "64010419900101123X", True),  # legacy 15 digits, check recomputed
        (" 6401 2219 7203 0455 11 ", "640122197203045511", True),
        ("640122197203045512", "640122197203045512", False),  # bad check digit
        ("640104199002301234", "640104199002301234", False),  # 30 February
    ],
)
def test_resident_ids_are_standardized_to_18_characters(con, raw, expected, valid) -> None:
    assert standardized(con, "resident_id", raw) == (expected, valid)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138 1234 5678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("0951 5012345", "0951-5012345"),
        ("010-12345678", "010-12345678"),
    ],
)
def test_phone_numbers_are_normalized(con, raw, expected) -> None:
    assert standardized(con, "phone", raw) == (expected, True)


def test_codes_dates_and_money(con) -> None:
    assert standardized(con, "gender", "女") == ("2", True)
    assert standardized(con, "gender", "unknown")[1] is False
    assert str(standardized(con, "date", "1990年1月2日")[0]) == "1990-01-02"
    assert standardized(con, "money", "1,234.5")[0] == pytest.approx(1234.5)
    assert standardized(con, "money", "-3")[1] is False
    assert standardized(con, "uscc", "91640100MA76L8TQ4W")[1] is True
    assert standardized(con, "uscc", "91640100MA76L8TQ4X")[1] is False


@pytest.mark.parametrize(
    ("standard", "raw", "expected", "valid"),
    [
        ("ethnicity", "回族", "03", True),  # GB/T 3304 by name, short name or code
        ("ethnicity", "回", "03", True),
        ("ethnicity", "01", "01", True),
        ("ethnicity", "火星族", "火星族", False),
        ("division", "金凤区", "640106", True),  # GB/T 2260
        ("division", "640205", "640205", True),
        ("division", "640102", "640102", False),  # the old 城区 code, abolished in 2002
        ("icd10", "j45.901", "J45.901", True),
        ("icd10", "D49", "D49", False),  # between chapters II (C00–D48) and III (D50–D89)
        ("gender", "male", "1", True),
    ],
)
def test_code_tables_from_the_standards_yaml(con, standard, raw, expected, valid) -> None:
    assert standardized(con, standard, raw) == (expected, valid)


def test_times_are_local_to_asia_shanghai(con) -> None:
    assert str(standardized(con, "datetime", "2025-06-29T02:30:00Z")[0]) == "2025-06-29 10:30:00"
    assert str(standardized(con, "datetime", "2025-06-29 10:30:00+08:00")[0]) == (
        "2025-06-29 10:30:00"
    )
    assert str(standardized(con, "datetime", "20250629103000")[0]) == "2025-06-29 10:30:00"


def test_icd10_chapters_come_from_the_code_ranges(con) -> None:
    icd10 = STANDARDS["icd10"]
    chapters = [
        con.execute(f"SELECT {icd10.group('$1')}", [code]).fetchone()[0]
        for code in ["A09", "C50.9", "D48", "D50", "I10", "S72.0", "T98", "Z00"]
    ]
    assert chapters == ["I", "II", "II", "III", "IX", "XIX", "XIX", "XXI"]


def test_a_failing_gate_blocks_deid_and_a_fixed_suite_lets_it_through(
    yc_home: Path, sources: dict, instance: dg.DagsterInstance, catalog_copy: Path
) -> None:
    suite_path = catalog_copy / "expectations" / "outpatient_visits.json"
    suite = json.loads(suite_path.read_text())
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "fee", "min_value": 0, "max_value": 1},
        }
    )
    suite_path.write_text(json.dumps(suite))
    os.environ["YC_EXPECTATIONS"] = str(catalog_copy / "expectations")
    try:
        strict = build_definitions(load_catalog())
    finally:
        del os.environ["YC_EXPECTATIONS"]
    key = partition_key("health", DAY)
    safe_file = yc_home / "lake/safe/outpatient_visits/bureau=health" / f"date={DAY}/data.parquet"

    blocked = strict.resolve_job_def("ingest_outpatient_visits").execute_in_process(
        partition_key=key, instance=instance, run_config=QUIET, raise_on_error=False
    )
    assert not blocked.success
    assert checks(blocked)["quality_gate"] is False
    assert "quality_gate" in failures(blocked)
    assert not safe_file.exists()
    materialized = {e.asset_key for e in blocked.get_asset_materialization_events()}
    assert dg.AssetKey(["std", "outpatient_visits"]) in materialized
    assert dg.AssetKey(["safe", "outpatient_visits"]) not in materialized

    passed = (
        build_definitions()
        .resolve_job_def("ingest_outpatient_visits")
        .execute_in_process(partition_key=key, instance=instance, run_config=QUIET)
    )
    verdicts = checks(passed)
    assert passed.success and verdicts | {"one_source": True} == {
        "one_source": True,  # not in the ingest run: it reads the register, so runs after both
        "missing_delivery": True,  # the day has rows
        "quality_gate": True,
        "reconciled": True,
        "quarantine_share": True,
        "no_residual_identifiers": True,
        "k_anonymity": True,  # measured on safe/, enforced on products
        "pii_graded_at_minimum": True,
    }
    assert safe_file.exists()
    std = materializations(instance, dg.AssetKey(["std", "outpatient_visits"]))[key]
    rows = duckdb.connect().execute(f"SELECT count(*) FROM '{safe_file}'").fetchone()[0]
    assert rows == std["dagster/row_count"]


def test_a_partition_over_its_quarantine_threshold_blocks_deid(
    yc_home: Path, sources: dict, instance: dg.DagsterInstance, catalog_copy: Path
) -> None:
    visits = catalog_copy / "assets" / "datasets" / "outpatient_visits.yaml"
    declared = visits.read_text(encoding="utf-8")
    assert "quarantine_threshold: 0.2" in declared
    visits.write_text(declared.replace("quarantine_threshold: 0.2", "quarantine_threshold: 0.001"))
    os.environ["YC_CATALOG"] = str(catalog_copy / "assets")
    try:
        strict = build_definitions(load_catalog())
    finally:
        del os.environ["YC_CATALOG"]
    day = "2025-06-30"
    result = strict.resolve_job_def("ingest_outpatient_visits").execute_in_process(
        partition_key=partition_key("health", day),
        instance=instance,
        run_config=QUIET,
        raise_on_error=False,
    )
    assert not result.success
    assert checks(result)["quarantine_share"] is False
    assert checks(result)["quality_gate"] is True  # the suite alone would have passed
    assert not (yc_home / "lake/safe/outpatient_visits/bureau=health" / f"date={day}").exists()
