"""归集 benchmark: one day of outpatient visits from the health bureau's database to Parquet.

ycpipelines streams Arrow batches into DuckDB and writes raw/ with provenance; the peer is
the common `pandas.read_sql` + `to_parquet`, measured in the same run on the same table.
Usage: python bench/collect.py [ROWS]
"""

import sys
import tempfile
from datetime import date
from pathlib import Path

from common import measure, report

DAY = date(2025, 6, 30)


def ycpipelines_collect(sources: Path, out: Path) -> int:
    from ycpipelines.catalog import load_catalog
    from ycpipelines.collect.collector import write_partition
    from ycpipelines.collect.readers import Reading, read_sql
    from ycpipelines.lake import duck

    dataset = load_catalog().dataset("outpatient_visits")
    reading = Reading(columns=[f.name for f in dataset.fields])
    batches = read_sql(f"sqlite:///{sources}/health.sqlite", dataset.source, dataset, DAY, reading)
    with duck() as con:
        done = write_partition(
            con,
            batches,
            reading,
            raw_path=out / "raw.parquet",
            quarantine_path=out / "quarantine.parquet",
            bureau="health",
            source="bench",
            run_id="bench",
            watermark_column="visit_time",
        )
    return done.collected


def pandas_collect(sources: Path, out: Path) -> int:
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{sources}/health.sqlite")
    frame = pd.read_sql(
        "SELECT * FROM outpatient_visits WHERE visit_time >= '2025-06-30' "
        "AND visit_time < '2025-07-01' ORDER BY visit_id",
        engine,
    )
    frame.to_parquet(out / "pandas.parquet")
    return len(frame)


def main(rows: int) -> None:
    from ycpipelines.demo.sources import write_sources

    with tempfile.TemporaryDirectory() as tmp:
        sources, out = Path(tmp) / "sources", Path(tmp)
        write_sources(rows, seed=3, out=sources, days=1, end=DAY)
        ours = measure(ycpipelines_collect, sources, out)
        peer = measure(pandas_collect, sources, out)
    assert ours["rows"] == peer["rows"], (ours, peer)
    report("collect", ours, peer, "pandas.read_sql+to_parquet")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000)
