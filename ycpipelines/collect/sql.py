"""SQL sources: any SQLAlchemy database streamed in Arrow batches; PostgreSQL through ADBC,
whose driver reads the server's binary COPY stream straight into Arrow."""

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import numpy as np
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


def source_relation(source: SqlSource, columns: list[str] | None = None) -> sa.FromClause:
    """The source table, or its query as subquery `src`, with `columns` to refer to."""
    named = [sa.column(c) for c in columns or []]
    if source.table:
        return sa.table(source.table, *named)
    return sa.text(source.query or "").columns(*named).subquery("src")


def partition_query(
    source: SqlSource,
    dataset: Dataset,
    day: date,
    after: str | None,
    as_text: frozenset[str] = frozenset(),
) -> sa.Select:
    """One day's rows (and, incrementally, only those changed after the watermark), in key order;
    the `as_text` columns as the server's own text (`CAST(… AS TEXT)`).

    Bounds are dates: a text column compares '2025-06-30 00:00:00' below the datetime
    '2025-06-30 00:00:00.000000', which would move midnight into the day before. Conditions and
    order name the relation's columns (`visits.fee`, `src.fee`): a bare name in ORDER BY would
    mean the output column, which is text when cast.
    """
    names = [f.name for f in dataset.fields]
    extra = [source.partition_column, source.watermark_column]
    relation = source_relation(source, names + [c for c in extra if c and c not in names])
    column = relation.c
    query = (
        sa.select(
            *[sa.cast(column[n], sa.Text).label(n) if n in as_text else column[n] for n in names]
        )
        .select_from(relation)
        .where(column[source.partition_column] >= day)
        .where(column[source.partition_column] < day + timedelta(days=1))
        .order_by(column[source.partition_column], *[column[k] for k in dataset.primary_key])
    )
    if after is not None and source.watermark_column:
        # At the watermark too: a row committed later with the same time is not missed, and
        # rows read again replace themselves by primary key.
        query = query.where(column[source.watermark_column] >= after)
    return query


def inspect_source(engine: Engine, source: SqlSource, reading: Reading) -> frozenset[str]:
    """Columns and type families the source has now; returns its exact numeric columns
    (NUMERIC, DECIMAL: not floats), which the reader asks for as the server's text."""
    exact: frozenset[str] = frozenset()
    if source.table:
        columns = sa.inspect(engine).get_columns(source.table)
        reading.families = {c["name"]: family(c["type"]) for c in columns}
        found = [c["name"] for c in columns]
        exact = frozenset(
            c["name"]
            for c in columns
            if isinstance(c["type"], sa.Numeric) and not isinstance(c["type"], sa.Float)
        )
    else:
        with engine.connect() as conn:
            found = list(
                conn.execute(sa.select("*").select_from(source_relation(source)).limit(0)).keys()
            )
    reading.check_columns(found)
    return exact


def read_sql(
    url: str,
    source: SqlSource,
    dataset: Dataset,
    day: date,
    reading: Reading,
    baseline: dict[str, str],
    after: str | None = None,
) -> pa.RecordBatchReader:
    """Check the source, then stream the partition while it is counted on another connection.

    The count is what the source says it holds; it must equal what was read.
    """
    engine = sa.create_engine(url)
    try:
        exact = inspect_source(engine, source, reading)
        reading.check_families(baseline)
    except Exception:
        engine.dispose()
        raise
    postgresql = engine.dialect.name == "postgresql"
    # Numerics as PostgreSQL's own text: the server writes it faster than ADBC decodes NUMERIC
    # into text (about 0.35 CPU s per million values, on the reading thread).
    query = partition_query(source, dataset, day, after, exact if postgresql else frozenset())
    counting = Counting(engine, query, reading)
    if postgresql:
        sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
        return adbc_reader(url, sql, counting)
    return sqlalchemy_reader(engine, query, reading, counting)


def line_numbers(before: int, rows: int) -> pa.Array:
    """`_line` of a batch: before + 1 … before + rows (from numpy: a Python range costs the
    reading thread about 0.3 s per million rows, holding the GIL)."""
    return pa.array(np.arange(before + 1, before + 1 + rows, dtype=np.int64))


class Counting(threading.Thread):
    """Counts the partition at the source alongside the read; `finish` waits and records it."""

    def __init__(self, engine: Engine, query: sa.Select, reading: Reading) -> None:
        super().__init__(name="source-count", daemon=True)
        self.engine, self.reading = engine, reading
        self.query = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            with self.engine.connect() as conn:
                self.reading.source_count = conn.scalar(self.query)
        except BaseException as error:  # raised by finish, in the reading thread
            self.error = error

    def finish(self) -> None:
        self.join()
        self.engine.dispose()
        if self.error:
            raise self.error


def sqlalchemy_reader(
    engine: Engine, query: sa.Select, reading: Reading, counting: Counting
) -> pa.RecordBatchReader:
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
                    arrays.append(line_numbers(line, len(rows)))
                    line += len(rows)
                    yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        finally:
            counting.finish()

    return pa.RecordBatchReader.from_batches(schema, batches())


def adbc_reader(url: str, sql: str, counting: Counting) -> pa.RecordBatchReader:
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
        counting.finish()
        raise
    storage = [
        f.type.storage_type if isinstance(f.type, pa.ExtensionType) else f.type
        for f in source.schema
    ]
    schema = pa.schema(
        [pa.field(f.name, t) for f, t in zip(source.schema, storage, strict=True)]
        + [pa.field("_line", pa.int64())]
    )

    def convert(batch: pa.RecordBatch, line: int) -> pa.RecordBatch:
        arrays = [c.storage if isinstance(c, pa.ExtensionArray) else c for c in batch.columns]
        arrays.append(line_numbers(line, batch.num_rows))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from prefetched(source, convert)
        finally:
            cursor.close()
            conn.close()
            counting.finish()

    return pa.RecordBatchReader.from_batches(schema, batches())


def prefetched(
    source: pa.RecordBatchReader,
    convert: Callable[[pa.RecordBatch, int], pa.RecordBatch],
    depth: int = 4,
) -> Iterator[pa.RecordBatch]:
    """Read the next batches from the server while the consumer works on this one.

    A reader thread keeps at most `depth` batches ahead, so memory stays bounded; both sides
    release the GIL in native code, so reading and writing overlap.
    """
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        line = 0
        try:
            for batch in source:
                if stop.is_set():
                    return
                ahead.put(convert(batch, line))
                line += batch.num_rows
            ahead.put(None)
        except BaseException as error:  # handed to the consumer, raised there
            ahead.put(error)

    reader = threading.Thread(target=read, name="adbc-prefetch", daemon=True)
    reader.start()
    try:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                ahead.get(timeout=0.1)
