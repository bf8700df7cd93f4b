"""治理 benchmark: the quality gate of one 5,000,000-row `std/outpatient_visits` partition.

Contenders, measured in the same run on the same Parquet file and the same suite
(`expectations/outpatient_visits.json`), each in a fresh process, load included:
- ycpipelines: GE through `DuckDBDatasource`, every expectation a DuckDB query over the Parquet;
- the baseline a user would write: `pandas.read_parquet` and GE's pandas datasource.
Both must reach the same verdict and the same unexpected count for every expectation.
The partition is built by DuckDB SQL shaped like std/outpatient_visits, with seeded defects
(malformed and missing phones, bad ICD-10 codes, repeated visit ids, fees out of range).
Usage: python bench/govern.py [ROWS]   (default 5,000,000)
"""

import json
import sys
import tempfile
from pathlib import Path

from common import measure, report

DAY = "2025-06-30"


def build_partition(path: Path, rows: int) -> None:
    """A std/outpatient_visits partition of `rows` rows with a few defects of each kind."""
    import duckdb

    with duckdb.connect() as con:
        con.execute(f"""
            COPY (
            SELECT
                'V' || lpad(CAST(CASE WHEN i % 5000 = 7 THEN i - 1 ELSE i END AS VARCHAR), 9, '0')
                    AS visit_id,
                ['张', '李', '王', '刘', '陈'][1 + i % 5]
                    || ['伟', '芳', '娜', '敏', '静', '强'][1 + i % 6] AS patient_name,
                '640104' || CAST(19500101 + (i % 50) * 10000 + (i % 12) * 100 + i % 28 AS VARCHAR)
                    || lpad(CAST(i % 1000 AS VARCHAR), 3, '0') || ['X', '1', '5'][1 + i % 3]
                    AS id_number,
                CASE WHEN i % 40 = 3 THEN NULL WHEN i % 250 = 11 THEN '1381234'
                    ELSE '13' || lpad(CAST(i % 1000000000 AS VARCHAR), 9, '0') END AS phone,
                ['1', '2'][1 + i % 2] AS gender,
                DATE '1950-01-01' + CAST(i % 20000 AS INTEGER) AS birth_date,
                '宁夏回族自治区银川市兴庆区' || CAST(i % 300 AS VARCHAR) || '号' AS address,
                ['宁夏医科大学总医院', '银川市第一人民医院', '宁夏回族自治区人民医院'][1 + i % 3]
                    AS hospital,
                ['内科', '外科', '儿科', '全科医学科'][1 + i % 4] AS department,
                CASE WHEN i % 500 = 13 THEN 'J0X' ELSE ['J06.9', 'I10', 'E11.9', 'K29.7'][1 + i % 4]
                    END AS icd10_code,
                ['急性上呼吸道感染', '原发性高血压', '2型糖尿病', '慢性胃炎'][1 + i % 4]
                    AS diagnosis,
                '患者自述不适，予以对症处理。' AS note,
                TIMESTAMP '{DAY} 08:00:00' + to_seconds(i % 36000) AS visit_time,
                CAST(CASE WHEN i % 2000 = 17 THEN 2000000 ELSE 20 + (i % 9000) / 10 END
                    AS DECIMAL(14, 2)) AS fee,
                TIMESTAMP '{DAY} 20:00:00' AS updated_at,
                'health' AS _bureau,
                DATE '{DAY}' AS _day,
                'health:outpatient_visits' AS _source,
                'bench' AS _run_id,
                TIMESTAMPTZ '{DAY} 23:30:00+08' AS _loaded_at,
                i AS _line,
                md5(CAST(i AS VARCHAR)) AS _row_hash
            FROM range({rows}) t(i)
            ) TO '{path}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)
        """)


def suite_and_dataset() -> tuple:
    from ycpipelines.catalog import load_catalog
    from ycpipelines.govern.suites import load_suite

    dataset = load_catalog().dataset("outpatient_visits")
    return load_suite(dataset), dataset


def ycpipelines_gate(path: Path, out: Path) -> int:
    from ycpipelines.foundation.lake import Partition
    from ycpipelines.govern.gate import validate

    suite, dataset = suite_and_dataset()
    gate = validate(path, suite, dataset, Partition("health", DAY))
    out.write_text(json.dumps({"success": gate.success, "results": gate.results}))
    return gate.rows


def pandas_gate(path: Path, out: Path) -> int:
    import pandas as pd
    from great_expectations.core import ExpectationSuite

    from ycpipelines.govern.gate import gx_context, outcomes

    suite, dataset = suite_and_dataset()
    frame = pd.read_parquet(path)
    batch = (
        gx_context()
        .data_sources.add_pandas("lake")
        .add_dataframe_asset("partition")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    validation = batch.validate(
        ExpectationSuite(**suite.document), result_format=suite.result_format
    )
    kept = {"success": bool(validation.success), "results": outcomes(validation, dataset)}
    out.write_text(json.dumps(kept))
    return len(frame)


def counts(path: Path) -> tuple[bool, dict[str, int | None]]:
    kept = json.loads(path.read_text())
    return kept["success"], {r["expectation"]: r["unexpected_count"] for r in kept["results"]}


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        partition = folder / "data.parquet"
        build_partition(partition, rows)
        ours = measure(ycpipelines_gate, partition, folder / "ycp.json")
        peer = measure(pandas_gate, partition, folder / "pandas.json")
        verdict, unexpected = counts(folder / "ycp.json")
        assert (verdict, unexpected) == counts(folder / "pandas.json"), "contenders disagree"
        assert ours["rows"] == peer["rows"] == rows
    failed = sorted(k for k, v in unexpected.items() if v)
    print(f"{rows:,} rows; verdict {'pass' if verdict else 'fail'}; unexpected in {failed}")
    for name, m in (("ycpipelines (GE on DuckDB)", ours), ("pandas + GE", peer)):
        print(
            f"{name:28} {m['seconds']:7.2f} s {m['rows_per_s']:12,.0f} rows/s "
            f"peak {m['peak_mib']:7,.0f} MiB, CPU {m['cpu_seconds']:6.1f} s"
        )
    print(
        f"speed {ours['rows_per_s'] / peer['rows_per_s']:.2f}x, "
        f"peak RSS {ours['peak_mib'] / peer['peak_mib']:.2f} of the baseline's"
    )
    report(
        "govern",
        ours,
        peer,
        "pandas+great_expectations",
        expectations=len(unexpected),
        unexpected_total=sum(v or 0 for v in unexpected.values()),
        same_verdict_and_counts=True,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000)
