"""The population register the journalist risk compares with: each person's latest record over
every committed partition, aggregated per person (no window over every record kept)."""

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ycpipelines.catalog import load_catalog
from ycpipelines.deid.population import population_relation, register_columns
from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.lake import Lake, Partition, duck


def commit(lake: Lake, day: str, rows: list[tuple]) -> None:
    path = lake.file(Layer.SAFE, "residents", Partition("population", day))
    path.parent.mkdir(parents=True, exist_ok=True)
    names = ["person_pid", "gender", "birth_year", "county", "updated_at"]
    pq.write_table(pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows]), path)


def test_the_register_holds_each_persons_latest_record(tmp_path: Path) -> None:
    catalog = load_catalog()
    quasi = register_columns(catalog, catalog.dataset("outpatient_visits"))
    assert quasi == ["gender", "birth_year", "county"]
    lake = Lake(tmp_path / "lake")
    old, new = datetime(2025, 6, 1), datetime(2025, 6, 2)
    commit(lake, "2025-06-01", [("p1", "1", 1970, "兴庆区", old), ("p2", "2", 1980, "金凤区", new)])
    commit(lake, "2025-06-02", [("p1", "1", 1970, "西夏区", new), ("p2", "2", 1981, None, old)])
    relation = population_relation(catalog.population, lake, quasi)
    with duck() as con:
        people = con.execute(f"SELECT * FROM ({relation}) ORDER BY ALL").fetchall()
        plan = "".join(str(r) for r in con.execute(f"EXPLAIN {relation}").fetchall())
    assert people == [("1", 1970, "西夏区"), ("2", 1980, "金凤区")]
    assert "WINDOW" not in plan.upper()
