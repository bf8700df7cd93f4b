"""The PostgreSQL reader gives NUMERIC values as the server's own text (NaN included) and keeps
key order when the key itself is NUMERIC; a value over its field's limit (in characters) is set
aside with its row."""

from datetime import date

import pyarrow as pa
import sqlalchemy as sa

from ycpipelines.catalog import load_catalog
from ycpipelines.collect.reading import Reading, limit_fields
from ycpipelines.collect.sql import read_sql
from ycpipelines.demo.servers import server_table

DAY = date(2025, 6, 30)
FEES = ["100.00", "9.50", "10.25", "-0.10", "NaN", "123456789012.34", None]


def test_numerics_come_as_the_servers_text_in_numeric_key_order(pg_url: str) -> None:
    visits = load_catalog().dataset("outpatient_visits")
    engine = sa.create_engine(pg_url)
    table = server_table(visits, sa.MetaData())
    table.create(engine)
    with engine.begin() as conn:
        for i, fee in enumerate(FEES):
            conn.execute(
                table.insert().values(
                    visit_id=f"V{i}", visit_time=f"{DAY} 08:00:00", fee=sa.cast(fee, sa.Numeric)
                )
            )
        expected = {
            name: [
                v
                for (v,) in conn.execute(
                    sa.text(
                        f"SELECT fee::text FROM outpatient_visits t ORDER BY visit_time, t.{key}"
                    )
                )
            ]
            for name, key in (("by_id", "visit_id"), ("by_fee", "fee"))
        }
    engine.dispose()
    assert expected["by_fee"][:4] == ["-0.10", "9.50", "10.25", "100.00"]  # numeric, not text
    for name, dataset in (
        ("by_id", visits),
        ("by_fee", visits.model_copy(update={"primary_key": ["fee"]})),
    ):
        reading = Reading(dataset, "outpatient_visits")
        rows = read_sql(pg_url, dataset.source, dataset, DAY, reading, {}).read_all()
        assert rows.column("fee").to_pylist() == expected[name]
        assert reading.source_count == len(FEES) and reading.families["fee"] == "numeric"


def test_a_query_source_reads_the_same_rows_in_the_same_order(pg_url: str) -> None:
    """A source given as a query is wrapped as subquery `src`; its day and order are the table's."""
    visits = load_catalog().dataset("outpatient_visits")
    engine = sa.create_engine(pg_url)
    table = server_table(visits, sa.MetaData())
    table.create(engine)
    times = ["2025-06-29 23:59:59", f"{DAY} 00:00:00", f"{DAY} 12:00:00", "2025-07-01 00:00:00"]
    with engine.begin() as conn:
        for i, at in enumerate(times * 2):
            conn.execute(table.insert().values(visit_id=f"V{9 - i}", visit_time=at, fee=i))
    engine.dispose()
    query = "SELECT * FROM outpatient_visits WHERE fee <> 2"
    queried = visits.model_copy(
        update={"source": visits.source.model_copy(update={"table": None, "query": query})}
    )
    ids = {}
    for name, dataset in (("table", visits), ("query", queried)):
        reading = Reading(dataset, name)
        rows = read_sql(pg_url, dataset.source, dataset, DAY, reading, {}).read_all()
        ids[name] = rows.column("visit_id").to_pylist()
        assert reading.source_count == len(ids[name])
    assert ids["table"] == ["V4", "V8", "V3", "V7"]
    assert ids["query"] == ["V4", "V8", "V3"]  # V7 (fee 2) is left out by the query


def test_a_value_is_measured_in_characters_not_bytes() -> None:
    """At its limit a Chinese value (3 bytes a character) is kept; one character more and its
    row is set aside, with its line."""
    visits = load_catalog().dataset("outpatient_visits")
    limits = {f.name: f.max_chars for f in visits.fields}
    at_limit = "宁" * limits["address"]
    batch = pa.RecordBatch.from_pydict(
        {"address": [at_limit, at_limit + "夏", "短"], "_line": [1, 2, 3]},
        schema=pa.schema([("address", pa.string()), ("_line", pa.int64())]),
    )
    reading = Reading(visits, "t")
    kept = limit_fields(pa.RecordBatchReader.from_batches(batch.schema, [batch]), reading)
    assert kept.read_all().column("_line").to_pylist() == [1, 3]
    assert [(b["line"], b["rule"]) for b in reading.bad_lines] == [(2, "field_too_long")]
