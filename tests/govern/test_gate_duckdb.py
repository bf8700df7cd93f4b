"""GE's SQL validation through `DuckDBDatasource` returns the same counts DuckDB and pandas do."""

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ycpipelines.govern.gate import gx_context

ROWS = 2000
# (expectation, its arguments, the SQL condition a row fails it by)
CASES = [
    ("expect_column_values_to_not_be_null", {"column": "phone"}, "phone IS NULL"),
    (
        "expect_column_values_to_match_regex",
        {"column": "phone", "regex": r"^1[3-9]\d{9}$"},
        r"phone IS NOT NULL AND NOT regexp_full_match(phone, '1[3-9]\d{9}')",
    ),
    (
        "expect_column_values_to_be_in_set",
        {"column": "gender", "value_set": ["1", "2"]},
        "gender NOT IN ('1', '2')",
    ),
    (
        "expect_column_values_to_be_between",
        {"column": "fee", "min_value": 0, "max_value": 500},
        "fee NOT BETWEEN 0 AND 500",
    ),
    (
        "expect_column_values_to_be_unique",
        {"column": "visit_id"},
        "visit_id IN (SELECT visit_id FROM t GROUP BY visit_id HAVING count(*) > 1)",
    ),
    (  # a column with NULLs (never duplicates) and a value repeated many times
        "expect_column_values_to_be_unique",
        {"column": "phone"},
        "phone IN (SELECT phone FROM t GROUP BY phone HAVING count(*) > 1)",
    ),
]


@pytest.fixture(scope="module")
def partition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gx") / "data.parquet"
    duckdb.execute(f"""
        COPY (SELECT
            'V' || CAST(CASE WHEN i % 97 = 5 THEN i - 1 ELSE i END AS VARCHAR) AS visit_id,
            CASE WHEN i % 13 = 0 THEN NULL WHEN i % 29 = 1 THEN '1381234'
                ELSE '139' || lpad(CAST(i AS VARCHAR), 8, '0') END AS phone,
            CASE WHEN i % 41 = 0 THEN '9' ELSE ['1', '2'][1 + i % 2] END AS gender,
            CAST(i % 611 AS DECIMAL(14, 2)) AS fee
        FROM range({ROWS}) r(i)) TO '{path}' (FORMAT parquet)
    """)
    return path


def validate_cases(batch, result_format: dict | str) -> list:
    """The batch's validation results, one per case, in the cases' order."""
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    suite = ExpectationSuite(
        name="cases",
        expectations=[
            ExpectationConfiguration(type=t, kwargs=kwargs).to_domain_obj()
            for t, kwargs, _ in CASES
        ],
    )
    validation = batch.validate(suite, result_format=result_format)
    by_case = {
        (r.expectation_config.type, r.expectation_config.kwargs["column"]): r
        for r in validation.results
    }
    return [by_case[(t, kwargs["column"])] for t, kwargs, _ in CASES]


def unexpected_counts(batch) -> list[int]:
    return [r.result.get("unexpected_count") for r in validate_cases(batch, "SUMMARY")]


def duckdb_batch(partition: Path):
    return (
        gx_context()
        .data_sources.add_duckdb("lake", connection_string="duckdb:///:memory:")
        .add_query_asset("partition", query=f"SELECT * FROM read_parquet('{partition}')")
        .add_batch_definition_whole_table("whole")
        .get_batch()
    )


def pandas_batch(partition: Path):
    return (
        gx_context()
        .data_sources.add_pandas("frame")
        .add_dataframe_asset("partition")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": pd.read_parquet(partition)})
    )


def partition_view(partition: Path) -> duckdb.DuckDBPyConnection:
    """A connection where `t` is the partition, for the cases' SQL."""
    con = duckdb.connect()
    con.execute(f"CREATE VIEW t AS SELECT * FROM '{partition}'")
    return con


def test_duckdb_datasource_counts_match_sql_and_pandas(partition: Path) -> None:
    con = partition_view(partition)
    truth = [con.execute(f"SELECT count(*) FROM t WHERE {sql}").fetchone()[0] for *_, sql in CASES]
    assert all(truth), "every case has failing rows"

    on_duckdb = duckdb_batch(partition)
    on_pandas = pandas_batch(partition)
    assert unexpected_counts(on_duckdb) == truth == unexpected_counts(on_pandas)


def test_duckdb_uniqueness_lists_the_repeated_values(partition: Path) -> None:
    """DuckDB's own uniqueness query (a GROUP BY, not GE's window) lists every repeated row's
    value, samples and all, as GE on pandas does; NULLs are neither counted nor listed."""
    con = partition_view(partition)
    complete = {"result_format": "COMPLETE", "partial_unexpected_count": 5}
    on_pandas = pandas_batch(partition)
    ours_all = validate_cases(duckdb_batch(partition), complete)
    theirs_all = validate_cases(on_pandas, complete)
    for (kind, kwargs, sql), ours, theirs in zip(CASES, ours_all, theirs_all, strict=True):
        if kind != "expect_column_values_to_be_unique":
            continue
        column = kwargs["column"]
        truth = sorted(v for (v,) in con.execute(f"SELECT {column} FROM t WHERE {sql}").fetchall())
        assert len(truth) > 1 and None not in truth
        assert sorted(ours.result["unexpected_list"]) == truth
        assert sorted(theirs.result["unexpected_list"]) == truth
        assert len(ours.result["partial_unexpected_list"]) == 5
        assert set(ours.result["partial_unexpected_list"]) <= set(truth)
        assert ours.success is theirs.success is False


def test_duckdb_engine_counts_values_with_its_own_query() -> None:
    """The DuckDB engine takes its own count-per-value metric; GE's SQL engines keep theirs."""
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine
    from great_expectations.expectations.registry import get_metric_provider

    from ycpipelines.govern.gx_duckdb import (
        BufferedSqlAlchemyExecutionEngine,
        DuckDBColumnValuesUnique,
    )

    metric = "column_values.count_per_value.map"
    ours = BufferedSqlAlchemyExecutionEngine(connection_string="duckdb:///:memory:")
    sqlite = SqlAlchemyExecutionEngine(connection_string="sqlite://")
    duckdb_query = DuckDBColumnValuesUnique._duckdb_function
    assert get_metric_provider(metric, ours)[1] is duckdb_query
    assert get_metric_provider(metric, sqlite)[1].__name__ == "_sqlalchemy_function"
