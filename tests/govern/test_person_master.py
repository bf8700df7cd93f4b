"""The person master (主数据) chooses each element from its authority, else the newest mention,
in one pass of aggregation per person and element: no window over every mention, whose memory
would grow with the partitions committed."""

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ycpipelines.catalog import load_catalog
from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.lake import Lake, Partition, duck
from ycpipelines.govern.master import master_sql

LOADED = datetime(2025, 6, 10, 12, tzinfo=UTC)


def commit(lake: Lake, dataset: str, day: int, rows: list[dict]) -> None:
    """A std partition of `dataset` on 2025-06-<day> with the given rows and provenance."""
    path = lake.file(Layer.STD, dataset, Partition("b", f"2025-06-{day:02d}"))
    path.parent.mkdir(parents=True, exist_ok=True)
    provenance = {"_day": date(2025, 6, day), "_loaded_at": LOADED}
    table = pa.Table.from_pylist([{**r, **provenance} for r in rows])
    pq.write_table(table, str(path))


def person(id_number: str | None, name: str | None, gender: str | None = None) -> dict:
    return {"id_number": id_number, "name": name, "gender": gender, "birth_date": None}


def visit(id_number: str | None, name: str | None, gender: str | None = None) -> dict:
    return {"id_number": id_number, "patient_name": name, "gender": gender, "birth_date": None}


def test_each_element_from_its_authority_else_the_newest_mention(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    commit(lake, "residents", 1, [person("A", "甲", "1"), person("F", "己")])
    commit(lake, "residents", 2, [person("A", None, "2")])  # the authority's newest gender
    commit(lake, "outpatient_visits", 3, [visit("A", "乙", "1"), visit("B", "丙")])
    commit(lake, "outpatient_visits", 4, [visit("B", "丁"), visit("C", "庚"), visit("E", None)])
    commit(lake, "outpatient_visits", 5, [visit(None, "无名")])
    commit(lake, "settlements", 4, [{"id_number": "C", "name": "辛"}])  # same day and load as C
    commit(lake, "enterprises", 2, [{"legal_rep_id": "D", "legal_rep": "戊"}])

    catalog = load_catalog()
    sql = master_sql(catalog, lake)
    with duck() as con:
        columns = [c[0] for c in con.execute(f"DESCRIBE {sql}").fetchall()]
        rows = {r[0]: dict(zip(columns, r, strict=True)) for r in con.execute(sql).fetchall()}
        plan = "".join(str(r) for r in con.execute(f"EXPLAIN {sql}").fetchall())

    assert list(rows) == ["A", "B", "C", "D", "E", "F"], "one row per person, ordered"
    a, b, c, d, e = (rows[k] for k in "ABCDE")
    assert (a["name"], a["name_source"], a["gender"]) == ("甲", "residents", "2")
    assert a["sources"] == ["outpatient_visits", "residents"] and a["last_seen"] == date(2025, 6, 3)
    assert (b["name"], b["name_source"]) == ("丁", "outpatient_visits"), "the newest mention"
    assert (c["name"], c["name_source"]) == ("庚", "outpatient_visits"), "a tie: source order"
    assert (d["name"], d["sources"]) == ("戊", ["enterprises"])
    assert (e["name"], e["name_source"], e["sources"]) == (None, None, ["outpatient_visits"])
    assert "WINDOW" not in plan.upper(), "aggregated, not windowed over every mention"
