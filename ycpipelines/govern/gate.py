"""Quality gate (质量门禁): a dataset's GE suite run on one partition's Parquet inside DuckDB.

GE reads the staged partition through `DuckDBDatasource` (a query asset over `read_parquet`), so
the rows never pass through pandas: each expectation is a SQL aggregate that DuckDB answers from
the columns it needs. Besides the suite's own expectations the gate adds the row-count collapse
check (`meta.min_share_of_previous_rows` of the bureau's previous committed partition) and fails
a partition without rows (a missing delivery, 缺报, scored 0 in every dimension). Failing
values GE returns (samples, when the suite asks for them, and observed column statistics) are
masked before they are kept anywhere.
"""

import math
import re
import threading
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
from upath import UPath

from ycpipelines.catalog import Dataset, SourceField
from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.lake import (
    TIMEZONE,
    Lake,
    Partition,
    remote_filesystems,
    sql_literal,
)
from ycpipelines.foundation.masking import mask
from ycpipelines.foundation.settings import Settings
from ycpipelines.govern.score import QualityScore, quality_score
from ycpipelines.govern.suites import Suite

ROW_COUNT_GATE = "row_count_vs_previous"
ROWS_PRESENT = "rows_present"
NOTHING_SCORED = QualityScore(0.0, 0.0, 0.0, 0.0)
# Row order is irrelevant to aggregates (uniqueness's window query runs ~30% faster without it).
DUCKDB_CONFIG = {"preserve_insertion_order": False}


def gx_context() -> Any:
    """An ephemeral GE context: nothing written to disk, no analytics, no progress bars."""
    Settings.export_default("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    import ycpipelines.govern.gx_duckdb  # noqa: F401  (registers the duckdb datasource type)

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


_DATASOURCE = threading.local()


def gx_datasource() -> Any:
    """This thread's GE context and DuckDB datasource, built once and reused by every gate run
    (each run adds and removes its own query asset). Rebuilt when the process has opened another
    lake since, so each connection has every lake filesystem `prepare()` gives."""
    filesystems = remote_filesystems()
    cached = getattr(_DATASOURCE, "cached", None)
    if cached is None or cached[0] != filesystems:
        datasource = gx_context().data_sources.add_duckdb(
            "lake",
            connection_string="duckdb:///:memory:",
            kwargs={"connect_args": {"config": DUCKDB_CONFIG}},
        )
        _DATASOURCE.cached = cached = (filesystems, datasource)
    return cached[1]


def run_suite(datasource: Any, query: str, expectations: Any, result_format: dict) -> Any:
    """GE's validation of `query`'s rows, through a query asset of its own (a batch id no other
    run shares, so nothing cached by batch is reused), removed afterwards with its batch."""
    name = f"partition-{uuid.uuid4().hex}"
    asset = datasource.add_query_asset(name, query=query)
    try:
        batch = asset.add_batch_definition_whole_table("whole").get_batch()
        return batch.validate(expectations, result_format=result_format)
    finally:
        datasource.delete_asset(name)
        batches = datasource.get_execution_engine().batch_manager
        batches.batch_data_cache.clear()
        batches.reset_batch_cache()


def label(config: Any) -> str:
    """`type(column)` of an expectation as shown in metadata (a gate the suite's meta adds
    names itself in place of a column)."""
    kwargs = config.kwargs
    column = kwargs.get("column") or "+".join(kwargs.get("column_list") or [])
    column = column or config.meta.get("gate", "")
    return f"{config.type}({column})" if column else config.type


def masked(value: Any, field: SourceField | None) -> Any:
    """A column's value, or list of values, masked the way its field's standard says; nothing
    of a column outside the catalog (provenance)."""
    if field is None:
        return None
    return [mask(v, field) for v in value] if isinstance(value, list) else mask(value, field)


def outcome(r: Any, dataset: Dataset) -> dict:
    """One expectation's result as kept: counts and percentages, and its column's sample values
    and observed statistic masked."""
    config, result = r.expectation_config, r.result
    column = config.kwargs.get("column")
    field = next((f for f in dataset.fields if f.name == column), None)
    observed = result.get("observed_value")
    return {
        "expectation": label(config),
        "type": config.type,
        "success": bool(r.success),
        "element_count": result.get("element_count"),
        "missing_count": result.get("missing_count"),
        "unexpected_count": result.get("unexpected_count"),
        "unexpected_percent": result.get("unexpected_percent"),
        "samples": masked(result.get("partial_unexpected_list") or [], field) or [],
        "observed": masked(observed, field) if column and observed is not None else observed,
        "error": error_of(r.exception_info or {}),
    }


def error_of(info: dict) -> str | None:
    """Why an expectation could not run: the first line of each error GE caught, its quoted
    literals (which can be data, e.g. a value that failed a cast) replaced by '…'."""
    errors = [info] if "exception_message" in info else list(info.values())
    lines = {
        re.sub(r"'[^']*'", "'…'", str(e.get("exception_message")).split("\n")[0])
        for e in errors
        if isinstance(e, dict) and e.get("raised_exception")
    }
    return "; ".join(sorted(lines)) or None


def outcomes(validation: Any, dataset: Dataset) -> list[dict]:
    """Every expectation's kept outcome from a GE validation result."""
    return [outcome(r, dataset) for r in validation.results]


@dataclass(frozen=True)
class GateResult:
    """Outcome of one suite on one partition."""

    success: bool
    rows: int
    previous_rows: int | None
    results: list[dict]
    score: QualityScore

    def adding(self, name: str, passed: bool, detail: str) -> "GateResult":
        """This result with one more gate the suite does not hold (e.g. a shrink guard)."""
        extra = {"expectation": name, "type": name, "success": passed, "detail": detail}
        return replace(self, success=self.success and passed, results=[*self.results, extra])

    @property
    def failed(self) -> list[str]:
        return [r["expectation"] for r in self.results if not r["success"]]

    def metadata(self) -> dict[str, Any]:
        """Check metadata; the floats are plotted over partitions by the Dagster UI."""
        import dagster as dg  # the gate itself runs without Dagster

        return {
            "expectations_run": len(self.results),
            "expectations_failed": len(self.failed),
            "failed": ", ".join(self.failed) or "none",
            "rows": self.rows,
            **({"previous_rows": self.previous_rows} if self.previous_rows is not None else {}),
            **{k: float(v) for k, v in self.score.as_dict().items()},
            "results": dg.MetadataValue.json(self.results),
        }


def scan(parquet: UPath) -> str:
    """The partition file's rows as they are (its `bureau=…/date=…` folders add no columns)."""
    return f"read_parquet({sql_literal(str(parquet))}, hive_partitioning = false)"


def previous_rows(lake: Lake, dataset: str, partition: Partition) -> int | None:
    """Rows of the bureau's latest committed std partition before this one's day (found without
    listing the dataset's other bureaus, `Lake.latest_before`)."""
    latest = lake.latest_before(Layer.STD, dataset, partition)
    if latest is None:
        return None
    with latest.open("rb") as f:
        return pq.ParquetFile(f).metadata.num_rows


def timely_share(
    datasource: Any, parquet: UPath, day: str, freshness_hours: int
) -> tuple[int, float]:
    """(rows, share of rows loaded by the end of `day` in Asia/Shanghai + freshness_hours),
    counted on the gate's DuckDB connection (`gx_datasource`) rather than a new one."""
    import sqlalchemy as sa

    end = datetime.combine(date.fromisoformat(day) + timedelta(1), datetime.min.time())
    deadline = end.replace(tzinfo=ZoneInfo(TIMEZONE)) + timedelta(hours=freshness_hours)
    query = sa.text(
        f"SELECT count(*), count(*) FILTER (WHERE _loaded_at <= :deadline) FROM {scan(parquet)}"
    ).bindparams(deadline=deadline)
    rows, timely = datasource.get_execution_engine().execute_query(query).one()
    return rows, timely / rows if rows else 1.0


def validate(
    parquet: UPath,
    suite: Suite,
    dataset: Dataset,
    partition: Partition,
    previous: int | None = None,
) -> GateResult:
    """Run the suite, and the row-count collapse check against `previous` rows, on a partition."""
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations import ExpectTableRowCountToBeBetween

    # The context comes first: adding an expectation to a suite asks GE's current project
    # whether the suite was saved, and a fresh worker process has no project yet.
    datasource = gx_datasource()
    freshness = dataset.source.freshness_hours
    rows, timeliness = timely_share(datasource, parquet, partition.date, freshness)
    expectations = ExpectationSuite(**suite.document)
    share = suite.min_share_of_previous_rows
    if share is not None and previous:
        expectations.add_expectation(
            ExpectTableRowCountToBeBetween(
                min_value=math.ceil(share * previous), meta={"gate": ROW_COUNT_GATE}
            )
        )
    query = f"SELECT * FROM {scan(parquet)}"
    validation = run_suite(datasource, query, expectations, suite.result_format)
    results = outcomes(validation, dataset)
    score = quality_score([(r["type"], r) for r in results], timeliness)
    gate = GateResult(
        success=bool(validation.success),
        rows=rows,
        previous_rows=previous,
        results=results,
        score=score if rows else NOTHING_SCORED,
    )
    return gate if rows else gate.adding(ROWS_PRESENT, False, "缺报: no rows for the day")
