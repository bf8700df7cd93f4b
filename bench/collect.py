"""归集 benchmark: one day of outpatient visits from the real PostgreSQL into the lake.

Contenders, measured in the same run on the same query, each in a fresh process:
- ycpipelines: ADBC (binary COPY into Arrow) streamed through DuckDB into raw/ Parquet, with
  provenance and an MD5 fingerprint per row;
- the baseline a user would write: `pandas.read_sql(..., chunksize=…)` appended to Parquet;
- the floor: the server's `COPY (SELECT …) TO STDOUT` into /dev/null.
Wall-time ratios stand beside CPU-time ratios (the contender process and its threads; the
server's work is in neither, and the floor's is nearly all server-side, so against COPY only
the time ratio is meaningful).
Sizes: a visits table of 1,000,000 and of 5,000,000 rows, all on one day (demo rows replicated
with new ids), so the partition is the whole table.
Usage: python bench/collect.py [BASE_ROWS]   (BASE_ROWS demo visits are generated and replicated)
"""

import json
import sys
import tempfile
import uuid
from datetime import date
from pathlib import Path

from common import measure
from sqlalchemy import create_engine, text

SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"
DAY = date(2025, 6, 30)
SIZES = (1_000_000, 5_000_000)


def the_query(day: date) -> str:
    from ycpipelines.catalog import load_catalog
    from ycpipelines.collect.sql import partition_query

    dataset = load_catalog().dataset("outpatient_visits")
    query = partition_query(dataset.source, dataset, day, None)
    engine = create_engine(SERVER + "/postgres")
    return str(query.compile(engine, compile_kwargs={"literal_binds": True}))


def ycpipelines_collect(url: str, day: date, out: Path) -> int:
    from ycpipelines.catalog import load_catalog
    from ycpipelines.collect.collector import write_partition
    from ycpipelines.collect.reading import Reading
    from ycpipelines.collect.sql import read_sql
    from ycpipelines.foundation.lake import duck

    dataset = load_catalog().dataset("outpatient_visits")
    reading = Reading(dataset, "outpatient_visits")
    reader = read_sql(url, dataset.source, dataset, day, reading, {})
    with duck() as con:
        done = write_partition(
            con,
            reader,
            reading,
            raw_path=out / "raw.parquet",
            quarantine_path=out / "quarantine.parquet",
            previous=None,
            bureau="health",
            day=day.isoformat(),
            source="bench",
            run_id="bench",
            watermark_column="updated_at",
        )
    assert done.read == reading.source_count
    return done.collected


def pandas_collect(url: str, day: date, out: Path) -> int:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    engine = create_engine(url)
    rows, writer = 0, None
    for chunk in pd.read_sql(text(the_query(day)), engine, chunksize=100_000):
        table = pa.Table.from_pandas(chunk.astype(str), preserve_index=False)
        writer = writer or pq.ParquetWriter(out / "pandas.parquet", table.schema)
        writer.write_table(table)
        rows += len(chunk)
    if writer:
        writer.close()
    return rows


def copy_floor(url: str, day: date, out: Path) -> int:
    import os

    engine = create_engine(url)
    with (
        engine.raw_connection().driver_connection as conn,
        conn.cursor() as cursor,
        open(os.devnull, "w") as sink,
    ):
        cursor.copy_expert(f"COPY ({the_query(day)}) TO STDOUT", sink)
        return cursor.rowcount


def prepare(url: str, base_rows: int, sources: Path) -> None:
    """Demo visits generated and loaded into PostgreSQL, kept as the base to replicate."""
    from ycpipelines.catalog import load_catalog
    from ycpipelines.demo.servers import load_into
    from ycpipelines.demo.sources import write_sources

    write_sources(base_rows, seed=5, out=sources, days=1, end=DAY)
    load_into(url, sources, load_catalog())
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE outpatient_visits RENAME TO visits_base"))
    engine.dispose()


def fill(url: str, rows: int) -> None:
    """The visits table as a bureau would have it: `rows` visits (the base replicated with new
    ids), indexed on the visit time, vacuumed and analyzed."""
    from ycpipelines.catalog import load_catalog

    columns = [f.name for f in load_catalog().dataset("outpatient_visits").fields]
    copied = ", ".join(
        "'R' || g || '-' || visit_id AS visit_id" if c == "visit_id" else c for c in columns
    )
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS outpatient_visits"))
        conn.execute(
            text(
                f"CREATE TABLE outpatient_visits AS SELECT {copied} FROM visits_base, "
                f"generate_series(1, (SELECT {rows} / count(*) + 1 FROM visits_base)) g "
                f"LIMIT {rows}"
            )
        )
        conn.execute(text("CREATE INDEX ix_visits_day ON outpatient_visits (visit_time)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (FREEZE, ANALYZE) outpatient_visits"))  # settle the server
        conn.execute(text("CHECKPOINT"))
    engine.dispose()


def main(base_rows: int) -> None:
    name = f"ycp_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVER + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = f"{SERVER}/{name}"
    figures: dict[str, object] = {"bench": "collect", "source": "postgresql"}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            prepare(url, base_rows, Path(tmp) / "sources")
            for rows in SIZES:
                fill(url, rows)
                ours = measure(ycpipelines_collect, url, DAY, Path(tmp))
                peer = measure(pandas_collect, url, DAY, Path(tmp))
                floor = measure(copy_floor, url, DAY, Path(tmp))
                assert ours["rows"] == peer["rows"] == floor["rows"] == rows, (ours, peer, floor)
                tag = f"{rows // 1_000_000}m"
                figures |= {
                    f"ycp_rows_per_s_{tag}": round(ours["rows_per_s"]),
                    f"pandas_rows_per_s_{tag}": round(peer["rows_per_s"]),
                    f"copy_rows_per_s_{tag}": round(floor["rows_per_s"]),
                    f"speedup_vs_pandas_{tag}": round(ours["rows_per_s"] / peer["rows_per_s"], 2),
                    f"time_vs_copy_{tag}": round(ours["seconds"] / floor["seconds"], 2),
                    f"ycp_peak_mib_{tag}": round(ours["peak_mib"]),
                    f"pandas_peak_mib_{tag}": round(peer["peak_mib"]),
                    f"ycp_cpu_s_{tag}": round(ours["cpu_seconds"], 1),
                    f"pandas_cpu_s_{tag}": round(peer["cpu_seconds"], 1),
                    f"cpu_speedup_vs_pandas_{tag}": round(
                        peer["cpu_seconds"] / ours["cpu_seconds"], 2
                    ),
                }
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()
    print(json.dumps(figures))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
