"""Collection loses nothing: bad lines are quarantined, re-runs replace, drift fails cleanly."""

import json
import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from sqlalchemy import create_engine, text

from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.resources import resources

from helpers import failures, materializations

DAY = "2025-06-30"
HEADER = "uscc,name,legal_rep,legal_rep_id,address,phone,industry,registration_date"
GOOD = (
    "91640104MA7TEST01X,银川某某商贸有限公司,王芳,640122197203045511,"
    "银川市兴庆区,13800000000,制造业,2001-01-01"
)


def collect(
    instance: dg.DagsterInstance, key: dg.AssetKey, bureau: str
) -> dg.ExecuteInProcessResult:
    defs = build_definitions()
    return dg.materialize(
        [defs.get_assets_def(key)],
        partition_key=partition_key(bureau, DAY),
        instance=instance,
        resources=resources(),
        run_config=QUIET,
        raise_on_error=False,
    )


def rows(path: Path, columns: str = "*") -> list[tuple]:
    return duckdb.connect().execute(f"SELECT {columns} FROM '{path}' ORDER BY ALL").fetchall()


def test_bad_csv_lines_are_quarantined_and_reruns_do_not_duplicate(
    yc_home: Path, instance: dg.DagsterInstance
) -> None:
    inbox = yc_home / "sources" / "inbox" / "market_regulation"
    inbox.mkdir(parents=True, exist_ok=True)
    lines = [
        HEADER.encode(),
        GOOD.encode("gbk"),
        # lines 3-4: one record, its quoted address broken over two lines
        GOOD.replace("TEST01", "TEST05")
        .replace("银川市兴庆区", '"银川市兴庆区\n解放西街"')
        .encode("gbk"),
        b"too,few",
        GOOD.replace("TEST01", "TEST02").encode("gbk"),
        # lines 7-8: one record with a field too many, a quoted value over two lines
        (GOOD + ',"one too\nmany"').encode("gbk"),
        GOOD.replace("TEST01", "TEST03").encode("gbk"),
        GOOD.replace("TEST01", "TEST04").encode("gbk").replace(b"2001", b"\xff\xff01"),
    ]
    (inbox / "enterprises_20250630.csv").write_bytes(b"\n".join(lines) + b"\n")
    key = dg.AssetKey(["raw", "market_regulation", "enterprises"])
    lake = yc_home / "lake"
    raw = lake / "raw/market_regulation/enterprises/bureau=market_regulation" / f"date={DAY}"
    quarantine = lake / "quarantine/enterprises/bureau=market_regulation" / f"date={DAY}"

    for _ in range(2):
        assert collect(instance, key, "market_regulation").success
        meta = materializations(instance, key)[partition_key("market_regulation", DAY)]
        assert (meta["read"], meta["dagster/row_count"], meta["quarantined"]) == (7, 4, 3)
        assert meta["reconciliation"] == "7 = 4 collected + 3 quarantined"
        assert rows(raw / "data.parquet", "_line, uscc") == [
            (2, "91640104MA7TEST01X"),
            (3, "91640104MA7TEST05X"),
            (6, "91640104MA7TEST02X"),
            (9, "91640104MA7TEST03X"),
        ]
        assert rows(quarantine / "collect.parquet", "_line, _rule, _reason") == [
            (5, "malformed_line", "expected 8 fields, found 2"),
            (7, "malformed_line", "expected 8 fields, found 9"),
            (10, "malformed_line", "undecodable bytes in gb18030 at byte 96"),
        ]
    assert not list(raw.glob(".*")), "no staged or temporary file is left behind"


def make_residents(path: Path, columns: dict[str, str]) -> None:
    """One resident updated at each edge of the day, and one just after it."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS residents"))
        conn.execute(text(f"CREATE TABLE residents ({', '.join(columns)})"))
        for n, moment in enumerate(
            ["2025-06-30 00:00:00", "2025-06-30 23:59:59", "2025-07-01 00:00:00"]
        ):
            values = columns | {"id_number": f"'{n}'", "updated_at": f"'{moment}'"}
            conn.execute(text(f"INSERT INTO residents VALUES ({', '.join(values.values())})"))
    engine.dispose()


RESIDENT = {
    "id_number": "'640122197203045511'",
    "name": "'王芳'",
    "gender": "'男'",
    "ethnicity": "'回族'",
    "birth_date": "'1972-03-04'",
    "household_division": "'640122'",
    "household_address": "'银川市'",
    "phone": "'13800000000'",
    "updated_at": f"'{DAY} 08:00:00'",
}


def test_schema_drift_fails_naming_the_column_and_keeps_the_last_version(
    yc_home: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = yc_home / "drifting.sqlite"
    monkeypatch.setenv("YC_SOURCE_POPULATION", f"sqlite:///{source}")
    key = dg.AssetKey(["raw", "population", "residents"])
    committed = (
        yc_home / "lake/raw/population/residents/bureau=population" / f"date={DAY}" / "data.parquet"
    )

    make_residents(source, RESIDENT | {"nickname": "'阿芳'"})
    assert collect(instance, key, "population").success
    meta = materializations(instance, key)[partition_key("population", DAY)]
    assert meta["new_columns"] == "nickname"
    before = rows(committed)
    assert [r[0] for r in rows(committed, "id_number")] == ["0", "1"], "midnight opens its day"
    assert meta["source_count"] == meta["dagster/row_count"] == 2

    make_residents(source, {k: v for k, v in RESIDENT.items() if k != "ethnicity"})
    result = collect(instance, key, "population")
    assert not result.success
    missing = "dataset residents: column(s) ['ethnicity'] expected by the catalog are missing"
    assert missing in failures(result)
    assert rows(committed) == before
    assert os.listdir(committed.parent) == ["data.parquet"]


def write_delivery(path: Path, fmt: str) -> None:
    """Three good enterprises and two broken rows, in a spreadsheet or as JSON lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = HEADER.split(",")
    good = [GOOD.replace("TEST01", f"TEST0{n}").split(",") for n in (1, 2, 3)]
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append(names)
        sheet.append(good[0])
        sheet.append([*good[1][:7], "#N/A"])  # a formula error where a date should be
        sheet.append(good[1])
        sheet.append([*good[2], "stray cell"])
        sheet.append(good[2])
        book.save(path)
    else:
        lines = [json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) for row in good]
        lines[1:1] = ['{"uscc": "91640104MA7TEST09X", "name": ', '["not", "an", "object"]']
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("fmt", "bad"),
    [
        (
            "xlsx",
            [(3, "unparseable value registration_date=#N/A"), (5, "expected 8 cells, found 9")],
        ),
        (
            "jsonl",
            [(2, "Expecting value: line 1 column 39 (char 38)"), (3, "a JSON list, not an object")],
        ),
    ],
)
def test_spreadsheets_and_json_lines_set_bad_rows_aside(
    fmt: str,
    bad: list,
    yc_home: Path,
    instance: dg.DagsterInstance,
    catalog_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declared = catalog_copy / "assets" / "datasets" / "enterprises.yaml"
    declared.write_text(
        declared.read_text()
        .replace("enterprises_%Y%m%d.csv", f"e_%Y%m%d.{fmt}")
        .replace("format: csv", f"format: {fmt}")
    )
    monkeypatch.setenv("YC_CATALOG", str(catalog_copy / "assets"))
    write_delivery(yc_home / "sources" / "inbox" / "market_regulation" / f"e_20250630.{fmt}", fmt)
    key = dg.AssetKey(["raw", "market_regulation", "enterprises"])
    assert collect(instance, key, "market_regulation").success
    meta = materializations(instance, key)[partition_key("market_regulation", DAY)]
    assert (meta["read"], meta["dagster/row_count"], meta["quarantined"]) == (5, 3, 2)
    quarantine = (
        yc_home
        / "lake/quarantine/enterprises/bureau=market_regulation"
        / f"date={DAY}/collect.parquet"
    )
    assert [(line, reason) for line, _, reason in rows(quarantine, "_line, _rule, _reason")] == bad
    raw = yc_home / "lake/raw/market_regulation/enterprises/bureau=market_regulation"
    assert [r[0] for r in rows(raw / f"date={DAY}/data.parquet", "uscc")] == [
        "91640104MA7TEST01X",
        "91640104MA7TEST02X",
        "91640104MA7TEST03X",
    ]


def test_a_source_declared_as_a_query_is_filtered_by_day(
    yc_home: Path,
    instance: dg.DagsterInstance,
    catalog_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = yc_home / "by_query.sqlite"
    make_residents(source, RESIDENT)
    declared = catalog_copy / "assets" / "datasets" / "residents.yaml"
    declared.write_text(
        declared.read_text().replace(
            "  table: residents\n", "  query: SELECT * FROM residents WHERE id_number <> '1'\n"
        )
    )
    monkeypatch.setenv("YC_CATALOG", str(catalog_copy / "assets"))
    monkeypatch.setenv("YC_SOURCE_POPULATION", f"sqlite:///{source}")
    key = dg.AssetKey(["raw", "population", "residents"])
    assert collect(instance, key, "population").success
    meta = materializations(instance, key)[partition_key("population", DAY)]
    assert meta["source_count"] == meta["dagster/row_count"] == 1
