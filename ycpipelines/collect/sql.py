"""SQL sources: any SQLAlchemy database streamed in Arrow batches; PostgreSQL through ADBC,
whose driver reads the server's binary COPY stream straight into Arrow."""

from collections.abc import Iterator
from datetime import date, timedelta

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from ycpipelines.catalog import Dataset
from ycpipelines.catalog.models import SqlSource
from ycpipelines.collect.reading import Reading

BATCH_ROWS = 50_000
FAMILIES = [
    (sa.Boolean, "boolean"),
    (sa.Integer, "integer"),
    (sa.Numeric, "numeric"),  # Float too
    (sa.DateTime, "datetime"),
    (sa.Date, "date"),
    (sa.Time, "time"),
    (sa.String, "string"),  # Text, Enum, Unicode too
    (sa.LargeBinary, "binary"),
]


def family(sql_type: sa.types.TypeEngine) -> str:
    """The type family of a source column: a change of family is drift, a new length is not."""
    for base, name in FAMILIES:
        if isinstance(sql_type, base):
            return name
    return "untyped" if isinstance(sql_type, sa.types.NullType) else type(sql_type).__name__


def source_relation(source: SqlSource) -> sa.FromClause:
    if source.table:
        return sa.table(source.table)
    return sa.text(source.query or "").columns().subquery("src")


def partition_query(source: SqlSource, dataset: Dataset, day: date, after: str | None) -> sa.Select:
    """One day's rows (and, incrementally, only those changed after the watermark), in key order.

    Bounds are dates: a text column compares '2025-06-30 00:00:00' below the datetime
    '2025-06-30 00:00:00.000000', which would move midnight into the day before.
    """
    column = sa.column
    query = (
        sa.select(*[column(f.name) for f in dataset.fields])
        .select_from(source_relation(source))
        .where(column(source.partition_column) >= day)
        .where(column(source.partition_column) < day + timedelta(days=1))
        .order_by(*[column(k) for k in dataset.primary_key])
    )
    if after is not None and source.watermark_column:
        query = query.where(column(source.watermark_column) > after)
    return query


def inspect_source(engine: Engine, source: SqlSource, reading: Reading) -> None:
    """Columns and type families the source has now."""
    if source.table:
        columns = sa.inspect(engine).get_columns(source.table)
        reading.families = {c["name"]: family(c["type"]) for c in columns}
        found = [c["name"] for c in columns]
    else:
        with engine.connect() as conn:
            found = list(
                conn.execute(sa.select("*").select_from(source_relation(source)).limit(0)).keys()
            )
    reading.check_columns(found)


def read_sql(
    url: str,
    source: SqlSource,
    dataset: Dataset,
    day: date,
    reading: Reading,
    baseline: dict[str, str],
    after: str | None = None,
) -> pa.RecordBatchReader:
    """Check the source, count the partition, then stream it; nothing is read twice."""
    engine = sa.create_engine(url)
    query = partition_query(source, dataset, day, after)
    try:
        inspect_source(engine, source, reading)
        reading.check_families(baseline)
        with engine.connect() as conn:
            counted = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
            reading.source_count = conn.scalar(counted)
    except Exception:
        engine.dispose()
        raise
    if engine.dialect.name == "postgresql":
        sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
        engine.dispose()
        return adbc_reader(url, sql)
    return sqlalchemy_reader(engine, query, reading)


def sqlalchemy_reader(engine: Engine, query: sa.Select, reading: Reading) -> pa.RecordBatchReader:
    """Server-side cursor, `yield_per` rows at a time, values as the driver's text."""
    schema = reading.text_schema()

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            with engine.connect() as conn:
                result = conn.execution_options(yield_per=BATCH_ROWS).execute(query)
                line = 0
                for rows in result.partitions():
                    arrays = [
                        pa.array([None if v is None else str(v) for v in col], pa.string())
                        for col in zip(*rows, strict=True)
                    ]
                    arrays.append(pa.array(range(line + 1, line + 1 + len(rows)), pa.int64()))
                    line += len(rows)
                    yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        finally:
            engine.dispose()

    return pa.RecordBatchReader.from_batches(schema, batches())


def adbc_reader(url: str, sql: str) -> pa.RecordBatchReader:
    """PostgreSQL's binary COPY into Arrow through ADBC; typed columns, numerics as text."""
    import adbc_driver_postgresql.dbapi as adbc

    uri = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = adbc.connect(uri)
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        source = cursor.fetch_record_batch()
    except Exception:
        cursor.close()
        conn.close()
        raise
    storage = [
        f.type.storage_type if isinstance(f.type, pa.ExtensionType) else f.type
        for f in source.schema
    ]
    schema = pa.schema(
        [pa.field(f.name, t) for f, t in zip(source.schema, storage, strict=True)]
        + [pa.field("_line", pa.int64())]
    )

    def batches() -> Iterator[pa.RecordBatch]:
        line = 0
        try:
            for batch in source:
                arrays = [
                    c.storage if isinstance(c, pa.ExtensionArray) else c for c in batch.columns
                ]
                arrays.append(pa.array(range(line + 1, line + 1 + batch.num_rows), pa.int64()))
                line += batch.num_rows
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        finally:
            cursor.close()
            conn.close()

    return pa.RecordBatchReader.from_batches(schema, batches())
