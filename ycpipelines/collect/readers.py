"""Source readers: stream one day of a bureau's dataset as Arrow batches of source text."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import column, create_engine, func, inspect, select, table

from ycpipelines.catalog import Dataset
from ycpipelines.catalog.models import FileSource, SqlSource

BATCH_ROWS = 50_000


class SchemaDriftError(RuntimeError):
    """The source no longer has a column the catalog expects."""


@dataclass
class Reading:
    """What a reader saw: source rows, unreadable lines and columns the catalog does not list."""

    columns: list[str]
    source_count: int | None = None
    bad_lines: list[dict] = field(default_factory=list)
    new_columns: list[str] = field(default_factory=list)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([(c, pa.string()) for c in self.columns] + [("_line", pa.int64())])


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _check_columns(dataset: Dataset, found: list[str], where: str) -> list[str]:
    expected = [f.name for f in dataset.fields]
    missing = [c for c in expected if c not in found]
    if missing:
        raise SchemaDriftError(
            f"dataset {dataset.id}: column(s) {missing} expected by the catalog are missing "
            f"from {where} (found {found})"
        )
    return [c for c in found if c not in expected]


def read_sql(
    url: str, source: SqlSource, dataset: Dataset, day: date, reading: Reading
) -> Iterator[pa.RecordBatch]:
    """Rows whose partition column falls on `day`, in primary-key order, streamed in batches.

    The source's columns and row count are checked before the first batch is produced.
    """
    engine = create_engine(url)
    src = table(source.table)
    # Bound by dates, not datetimes: a text column compares '2025-06-30 00:00:00' below the
    # rendered datetime '2025-06-30 00:00:00.000000', which would move midnight to the day before.
    window = (column(source.partition_column) >= day) & (
        column(source.partition_column) < day + timedelta(days=1)
    )
    try:
        found = [c["name"] for c in inspect(engine).get_columns(source.table)]
        reading.new_columns = _check_columns(dataset, found, f"table {source.table}")
        with engine.connect() as conn:
            reading.source_count = conn.scalar(select(func.count()).select_from(src).where(window))
    except Exception:
        engine.dispose()
        raise
    query = (
        select(*[column(c) for c in reading.columns])
        .select_from(src)
        .where(window)
        .order_by(*[column(k) for k in dataset.primary_key])
    )

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            with engine.connect() as conn:
                result = conn.execution_options(yield_per=BATCH_ROWS).execute(query)
                line = 0
                for rows in result.partitions():
                    arrays = [
                        pa.array([_text(v) for v in col], pa.string())
                        for col in zip(*rows, strict=True)
                    ]
                    arrays.append(pa.array(range(line + 1, line + 1 + len(rows)), pa.int64()))
                    line += len(rows)
                    yield pa.RecordBatch.from_arrays(arrays, schema=reading.schema)
        finally:
            engine.dispose()

    return batches()


def read_file(
    path: Path, source: FileSource, dataset: Dataset, reading: Reading
) -> Iterator[pa.RecordBatch]:
    """A day's delivery file; lines with the wrong number of fields are set aside, not dropped."""
    if not path.exists():
        raise FileNotFoundError(f"dataset {dataset.id}: delivery {path} has not arrived")

    def set_aside(row: pacsv.InvalidRow) -> str:
        reading.bad_lines.append(
            {
                "line": row.number,
                "text": row.text,
                "reason": f"expected {row.expected_columns} fields, found {row.actual_columns}",
            }
        )
        return "skip"

    stream = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            encoding=source.encoding, use_threads=False, block_size=8 << 20
        ),
        parse_options=pacsv.ParseOptions(invalid_row_handler=set_aside),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in reading.columns}, strings_can_be_null=True
        ),
    )
    reading.new_columns = _check_columns(dataset, stream.schema.names, f"file {path.name}")

    def batches() -> Iterator[pa.RecordBatch]:
        line, rows = 2, 0  # the first data line follows the header
        for batch in stream:
            bad = {b["line"] for b in reading.bad_lines}
            numbers = []
            for _ in range(batch.num_rows):
                while line in bad:
                    line += 1
                numbers.append(line)
                line += 1
            rows += batch.num_rows
            arrays = [batch.column(c) for c in reading.columns]
            yield pa.RecordBatch.from_arrays(
                [*arrays, pa.array(numbers, pa.int64())], schema=reading.schema
            )
        reading.source_count = rows + len(reading.bad_lines)

    return batches()
