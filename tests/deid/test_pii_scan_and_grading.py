"""`ycp pii scan` on stdin and on tables; `ycp catalog classify` and the grading check on std/."""

import json
import os
import random
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner

from ycpipelines.catalog import load_catalog
from ycpipelines.cli import main
from ycpipelines.definitions import build_definitions
from ycpipelines.deid.analyzer import MOMENT, candidates
from ycpipelines.demo.run import QUIET
from ycpipelines.foundation.partitions import partition_key

CORPUS = Path(__file__).with_name("corpus")
DAY = "2025-06-29"
ID = "640122197203045511"


def test_scan_writes_one_line_per_input_line_in_order() -> None:
    texts = [f"身份证{ID}，电话138 1234 5678", "", "查体未见明显异常", "邮箱a.b@163.com联系"]
    lines = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    result = CliRunner().invoke(main, ["pii", "scan"], input=lines)
    assert result.exit_code == 0, result.output
    out = [json.loads(line)["findings"] for line in result.output.splitlines()]
    assert len(out) == len(texts)
    found = [
        [(f["entity_type"], t[f["start"] : f["end"]]) for f in fs]
        for t, fs in zip(texts, out, strict=True)
    ]
    assert found == [
        [("CN_RESIDENT_ID", ID), ("PHONE_NUMBER", "138 1234 5678")],
        [],
        [],
        [("EMAIL_ADDRESS", "a.b@163.com")],
    ]
    assert all(0 < f["score"] <= 1 for fs in out for f in fs)


def test_scan_rejects_a_line_that_is_not_a_text_object() -> None:
    for bad in ("[1, 2]", '{"text": 7}', "{"):
        result = CliRunner().invoke(main, ["pii", "scan"], input=f'{{"text": "无"}}\n{bad}\n')
        assert result.exit_code != 0
        assert "line 2" in result.output


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_table_scan_reports_entity_shares_per_column(kind: str, tmp_path: Path) -> None:
    table = CORPUS / "table.csv"
    if kind == "parquet":
        table = tmp_path / "table.parquet"
        duckdb.connect().execute(
            f"COPY (SELECT * FROM read_csv('{CORPUS / 'table.csv'}', all_varchar = true)) "
            f"TO '{table}' (FORMAT parquet)"
        )
    result = CliRunner().invoke(main, ["pii", "scan", "--table", str(table)])
    assert result.exit_code == 0, result.output
    shares = {row["column"]: row["entities"] for row in map(json.loads, result.output.splitlines())}
    expected = json.loads((CORPUS / "table.json").read_text(encoding="utf-8"))
    assert shares == expected


def test_no_recognizer_proposes_anything_in_a_plain_date_or_timestamp() -> None:
    """What lets `find` skip them: any digits in each place, any column name as context."""
    rng = random.Random(7)
    shapes = [
        "dddd-dd-dd",
        "dddd-dd-dd dd:dd:dd",
        "dddd-dd-dd dd:dd:dd.d",
        "dddd-dd-dd dd:dd:dd.dddddd",
    ]
    digits = "0123456789"
    texts = ["0001-01-01", "9999-12-31 23:59:59.999999", "1381-23-45 67:89:01.234567"] + [
        "".join(rng.choice(digits) if c == "d" else c for c in shape)
        for shape in shapes
        for _ in range(60)
    ]
    for text in texts:
        assert MOMENT.fullmatch(text)
        for context in (None, ["birth_date"], ["phone"], ["id_number"], ["bank_card"]):
            assert candidates(text, context) == [], context


@pytest.fixture(scope="module")
def governed(
    yc_home: Path, sources: dict, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    """One outpatient-visit partition collected, governed and de-identified."""
    return (
        build_definitions()
        .resolve_job_def("ingest_outpatient_visits")
        .execute_in_process(
            partition_key=partition_key("health", DAY), instance=instance, run_config=QUIET
        )
    )


def test_the_catalog_grades_the_demo_columns_at_their_minimum(governed) -> None:
    assert governed.success
    evaluation = next(
        e for e in governed.get_asset_check_evaluations() if e.check_name == "pii_graded_at_minimum"
    )
    assert evaluation.passed, evaluation.metadata
    result = CliRunner().invoke(main, ["catalog", "classify", "outpatient_visits"])
    assert result.exit_code == 0, result.output
    assert "0 below the minimum level" in result.output


def test_a_column_graded_below_its_pii_fails_the_check_and_classify_names_it(
    governed, instance: dg.DagsterInstance, catalog_copy: Path
) -> None:
    dataset = catalog_copy / "assets" / "datasets" / "outpatient_visits.yaml"
    text = dataset.read_text(encoding="utf-8")
    lowered = text.replace(
        "label: 联系电话, standard: phone, category: 个人信息/联系方式, role: direct, level: L4",
        "label: 联系电话, standard: phone, category: 个人信息/联系方式, role: direct, level: L2",
    ).replace(
        "category: 医疗健康/病历, role: sensitive, level: L4, policy: redact_text",
        "category: 医疗健康/病历, role: sensitive, level: L2, policy: redact_text",
    )
    assert lowered.count("level: L2") == text.count("level: L2") + 2
    dataset.write_text(lowered, encoding="utf-8")
    os.environ["YC_CATALOG"] = str(catalog_copy / "assets")
    try:
        lax = build_definitions(load_catalog())
        result = CliRunner().invoke(main, ["catalog", "classify", "outpatient_visits", "--json"])
    finally:
        del os.environ["YC_CATALOG"]

    assert result.exit_code == 0, result.output
    below = [d for d in json.loads(result.stdout) if d["below_minimum"]]
    assert [d["column"] for d in below] == ["phone", "note"]
    assert "PHONE_NUMBER" in below[0]["proposed"] and "≥ L4" in below[0]["proposed"]

    run = lax.resolve_job_def("ingest_outpatient_visits").execute_in_process(
        partition_key=partition_key("health", DAY),
        instance=instance,
        run_config=QUIET,
        raise_on_error=False,
    )
    evaluation = next(
        e for e in run.get_asset_check_evaluations() if e.check_name == "pii_graded_at_minimum"
    )
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert set(evaluation.metadata["below_minimum"].value) == {"phone", "note"}
