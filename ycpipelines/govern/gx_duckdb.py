"""A Great Expectations datasource on DuckDB whose results survive their connection.

GE 1.x's SQL execution engine runs each metric query in `with engine.connect():` and returns the
cursor result after the connection has closed; duckdb-engine's cursor dies with its connection, so
every expectation fails with `IndexError`. `BufferedSqlAlchemyExecutionEngine` reads each result
into memory before the connection closes (the results are aggregates or a few sample rows), and
`DuckDBDatasource` is a fluent datasource that uses it. Defining the subclass registers it with
GE, so a context offers `context.data_sources.add_duckdb(...)`. On that engine, uniqueness counts
each value with a GROUP BY (`DuckDBColumnValuesUnique`) instead of GE's window.
"""

from typing import Any, Literal

import sqlalchemy as sa
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.metrics import column_function_partial
from great_expectations.expectations.metrics.column_map_metrics.column_values_unique import (
    _DUP_KEY_SUBQUERY_ALIAS,
    ColumnValuesUnique,
    _count_label,
)
from sqlalchemy.dialects import postgresql

from ycpipelines.foundation.lake import prepare


def on_connect(connection: Any, _record: Any) -> None:
    """Each new DuckDB connection gets the pipeline's settings and lake filesystems."""
    prepare(connection)


class BufferedSqlAlchemyExecutionEngine(SqlAlchemyExecutionEngine):
    """GE's SQL execution engine, with every query's rows fetched while the connection is open."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # duckdb-engine's dialect derives from PostgreSQL's and DuckDB reads its SQL (regex
        # operators `~` / `!~`, type names); GE chooses dialect-specific SQL by this module and
        # knows no DuckDB module, so without it regex expectations are "not supported".
        self.dialect_module = postgresql
        sa.event.listen(self.engine, "connect", on_connect)

    def execute_query(self, query: sa.Selectable | sa.TextClause) -> sa.Result:
        with self.get_connection() as connection:
            return connection.execute(query).freeze()()


class DuckDBColumnValuesUnique(ColumnValuesUnique):
    """GE's `column_values.unique` on DuckDB: the rows per value come from a GROUP BY expanded
    back to one row per source row (`range(n)`), where GE's `count(*) OVER (PARTITION BY …)`
    takes about 1.7× as long in DuckDB. Same rows and counts; only the value column and its count
    are exposed, as GE's narrow window does, and GE's own join-back serves the row lists."""

    @column_function_partial(engine=BufferedSqlAlchemyExecutionEngine)
    def _duckdb_function(cls, column: Any, _table: Any, **kwargs: Any) -> Any:
        label = _count_label(kwargs["_metrics"]["table.columns"])
        source = _table.subquery() if isinstance(_table, sa.Select) else _table
        value = sa.column(column.name)
        counts = (
            sa.select(value, sa.func.count().label(label))
            .select_from(source)
            .group_by(value)
            .subquery("counts")
        )
        repeat = sa.func.range(counts.c[label]).table_valued("i").alias("repeat")
        return (
            sa.select(counts.c[column.name], counts.c[label])
            .select_from(counts.join(repeat, sa.true()))
            .alias(_DUP_KEY_SUBQUERY_ALIAS)
        )


EngineType = type[SqlAlchemyExecutionEngine]  # spelled out here: `type` is a field below


class DuckDBDatasource(SQLDatasource):
    """A SQL datasource on DuckDB (`duckdb:///:memory:` or a database file) through
    duckdb-engine; query assets can read Parquet directly (`SELECT * FROM read_parquet(...)`)."""

    type: Literal["duckdb"] = "duckdb"  # type: ignore[assignment]

    @property
    def execution_engine_type(self) -> EngineType:
        return BufferedSqlAlchemyExecutionEngine
