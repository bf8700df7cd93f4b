"""Bad deliveries fail clearly, are set aside row by row, and never wipe a committed partition."""

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.deid.classify import classify
from ycpipelines.deid.grading import CHECK_SAMPLE
from ycpipelines.foundation.lake import Partition
from ycpipelines.govern.gate import validate
from ycpipelines.govern.suites import load_suite
from ycpipelines.registry import Registry

from bad_inputs import (
    ACCEPT_SHRINK,
    BUREAU,
    DATASET,
    bad_inputs,
    committed,
    delivery,
    ingest,
    lines,
    row_attacks,
)
from helpers import checks, failures, materializations

DAY = "2025-06-30"  # committed before every attack
FRESH = "2025-06-29"  # first collected by the row attacks
FILE = "enterprises_20250630.csv"
EXPECTED = {
    "headerless": rf"expected by the catalog are missing from {FILE} \(found 8 columns: ",
    "header_only": r"has 0 rows against \d+ committed \(below 50%\); the committed partition",
    "utf16": rf"{FILE} line 1: does not decode as gb18030 \(byte 0\); it starts with a UTF-16",
    "random_bytes": rf"{FILE} line 1: ",
    "ten_mb_line": rf"{FILE} line 1: over \d+ bytes without a line break; not a CSV header",
}
STD = dg.AssetKey(["std", DATASET])


@pytest.fixture(scope="module")
def defs(yc_home: Path) -> dg.Definitions:
    return build_definitions()


@pytest.fixture(scope="module")
def good(yc_home: Path, sources: dict, instance: dg.DagsterInstance, defs: dg.Definitions) -> bytes:
    """The day's good delivery, collected, governed and de-identified once."""
    assert ingest(defs, instance, DAY).success
    return delivery(yc_home, DAY).read_bytes()


@pytest.fixture
def redeliver(yc_home: Path, good: bytes) -> Iterator[Callable[[bytes], None]]:
    """Put bytes in the inbox as the day's delivery; the good file is back afterwards."""
    path = delivery(yc_home, DAY)
    yield path.write_bytes
    path.write_bytes(good)


@pytest.mark.parametrize("attack", list(EXPECTED))
def test_a_bad_redelivery_fails_naming_file_and_line_and_keeps_every_layer(
    attack: str,
    yc_home: Path,
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    good: bytes,
    redeliver: Callable[[bytes], None],
) -> None:
    before = committed(yc_home, DAY)
    assert set(before) == {"raw", "std", "safe"}
    redeliver(bad_inputs(good)[attack])
    result = ingest(defs, instance, DAY)
    assert not result.success
    message = failures(result)
    assert re.search(EXPECTED[attack], message), message[:2000]
    assert "UnicodeDecodeError" not in message and "_csv.Error" not in message
    assert committed(yc_home, DAY) == before


def test_a_shrink_needs_an_audited_decision_and_an_empty_day_is_a_missing_delivery(
    yc_home: Path,
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    good: bytes,
    redeliver: Callable[[bytes], None],
) -> None:
    before = committed(yc_home, DAY)
    delivered = len(lines(good)) - 1
    redeliver(bad_inputs(good)["header_only"])
    result = ingest(defs, instance, DAY, ACCEPT_SHRINK, operator="ops-li")

    # The operator's decision lets raw/ shrink, and says who, which run and which counts.
    subject = f"raw/{BUREAU}/{DATASET}/{DAY}"
    decision = [e for e in Registry().history(subject) if e.action == "collect.shrink_accepted"]
    assert [(e.actor, e.detail) for e in decision] == [
        ("ops-li", {"run_id": result.run_id, "layer": "raw", "before": delivered, "after": 0})
    ]
    now = committed(yc_home, DAY)
    assert now["raw"] != before["raw"]
    # The empty day is a missing delivery: a failed blocking check and a ticket, not a score
    # of 1.0; std/ and safe/ keep the last good version.
    assert checks(result)["missing_delivery"] is False
    assert not result.success
    assert (now["std"], now["safe"]) == (before["std"], before["safe"])
    tickets = [t for t in Registry().tickets(dataset=DATASET) if t.day == DAY]
    assert [(t.rule, t.status) for t in tickets if t.rule == "missing_delivery"] == [
        ("missing_delivery", "open")
    ]

    # The good file re-delivered: collected again, the ticket closed.
    redeliver(good)
    assert ingest(defs, instance, DAY).success
    tickets = [t for t in Registry().tickets(dataset=DATASET) if t.day == DAY]
    assert {t.status for t in tickets if t.rule == "missing_delivery"} == {"closed"}


def test_std_refuses_a_shrunk_raw_partition_no_operator_accepted(
    yc_home: Path, instance: dg.DagsterInstance, defs: dg.Definitions, good: bytes
) -> None:
    raw = yc_home / f"lake/raw/{BUREAU}/{DATASET}/bureau={BUREAU}/date={DAY}/data.parquet"
    kept = raw.read_bytes()
    before = committed(yc_home, DAY)
    # The attack: a raw file cut to ten rows by hand, past collection and its guard.
    duckdb.connect().execute(
        f"COPY (SELECT * FROM '{raw}' LIMIT 10) TO '{raw}.cut' (FORMAT parquet)"
    )
    Path(f"{raw}.cut").replace(raw)
    try:
        result = defs.resolve_job_def(f"ingest_{DATASET}").execute_in_process(
            partition_key=dg.MultiPartitionKey({"bureau": BUREAU, "date": DAY}),
            instance=instance,
            asset_selection=[STD],
            raise_on_error=False,
        )
        assert not result.success
        gate = materializations(instance, STD)
        key = dg.MultiPartitionKey({"bureau": BUREAU, "date": DAY})
        assert gate[key]["committed"] is False
        assert committed(yc_home, DAY)["std"] == before["std"]
        failed = [
            e.metadata["failed"].value
            for e in result.get_asset_check_evaluations()
            if e.check_name == "quality_gate"
        ]
        assert failed and "no_shrink_vs_committed" in failed[0]
    finally:
        raw.write_bytes(kept)


def test_over_long_lines_and_cells_are_set_aside_with_their_reason(
    yc_home: Path, instance: dg.DagsterInstance, defs: dg.Definitions, good: bytes
) -> None:
    before = committed(yc_home, DAY)
    path = delivery(yc_home, FRESH)
    original = path.read_bytes()
    path.write_bytes(row_attacks(original))
    try:
        started = time.monotonic()
        result = ingest(defs, instance, FRESH)
        elapsed = time.monotonic() - started
    finally:
        path.write_bytes(original)
    assert result.success, failures(result)[:2000]
    assert "pii_graded_at_minimum" in checks(result)
    assert elapsed < 240, f"the ingest run took {elapsed:.0f} s"
    where = f"bureau={BUREAU}/date={FRESH}"
    quarantine = yc_home / f"lake/quarantine/{DATASET}/{where}/collect.parquet"
    found = duckdb.connect().execute(
        f"SELECT _line, _rule, _reason, length(_record) FROM '{quarantine}' ORDER BY _line"
    )
    row_bytes = len(lines(row_attacks(original))[3]) + 1
    assert [r[:3] for r in found.fetchall()] == [
        (3, "line_too_long", "line of 10485761 bytes, over the limit of 324096"),
        (4, "line_too_long", f"line of {row_bytes} bytes, over the limit of 324096"),
        (5, "field_too_long", "address has 50000 characters, over its limit of 10000"),
    ]
    # What quarantine keeps of a set-aside row is its start, cut short.
    kept = duckdb.connect().execute(
        f"SELECT max(length(_record)), max(_record) FILTER (_line = 4) FROM '{quarantine}'"
    )
    longest, big_cell = kept.fetchone()
    assert longest < 1000 and lines(original)[2].decode("gbk")[:18] in big_cell
    raw = yc_home / f"lake/raw/{BUREAU}/{DATASET}/{where}/data.parquet"
    lengths = duckdb.connect().execute(f"SELECT count(*), max(length(address)) FROM '{raw}'")
    rows, longest = lengths.fetchone()
    assert rows == len(lines(original)) - 3 and longest < 200  # 2 rows replaced, 1 added
    assert committed(yc_home, DAY) == before


def test_the_grading_scan_reads_a_bounded_start_of_each_value(tmp_path: Path) -> None:
    """A 10 MB note once kept the grading check busy for minutes."""
    path = tmp_path / "data.parquet"
    duckdb.connect().execute(
        "COPY (SELECT '640122197203045511 ' || repeat('患者自述头痛三天，', 1200000) AS note) "
        f"TO '{path}' (FORMAT parquet)"
    )
    started = time.monotonic()
    with duckdb.connect() as con:
        proposals = classify(con, [path], CHECK_SAMPLE)
    elapsed = time.monotonic() - started
    assert elapsed < 30, f"the scan took {elapsed:.0f} s"
    assert "CN_RESIDENT_ID" in proposals[0].entities


def test_an_empty_std_partition_fails_the_gate_and_scores_nothing(
    yc_home: Path, good: bytes, tmp_path: Path
) -> None:
    """A day without rows once scored 1.0 in every dimension and passed."""
    std = yc_home / f"lake/std/{DATASET}/bureau={BUREAU}/date={DAY}/data.parquet"
    empty = tmp_path / "data.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_parquet('{std}', hive_partitioning = false) LIMIT 0) "
        f"TO '{empty}' (FORMAT parquet)"
    )
    dataset = load_catalog().dataset(DATASET)
    gate = validate(empty, load_suite(dataset), dataset, Partition(BUREAU, DAY))
    assert (gate.success, gate.rows, gate.failed) == (False, 0, ["rows_present"])
    assert gate.metadata()["quality_score"] == 0.0
