"""PII scan (敏感信息扫描): entities in texts, and per column the share of values carrying each.

`scan_columns` serves both `ycp pii scan --table` and classification (分类分级): each column's
distinct values are analyzed once, with the column name passed as context.
"""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ycpipelines.deid.analyzer import find
from ycpipelines.foundation.lake import quoted, sql_literal

SAMPLE_ROWS = 10_000
# Characters of one value a column scan reads: a value's entity types show in its start, and
# no check may run unbounded on one delivered value (a 10 MB cell took minutes).
VALUE_CHARS = 2_000


@dataclass(frozen=True)
class ColumnScan:
    """What one column carries: of its `values` (non-empty, sampled), the share holding each
    entity type."""

    column: str
    values: int
    shares: dict[str, float]

    def to_json(self) -> dict[str, object]:
        return {
            "column": self.column,
            "values": self.values,
            "entities": {e: round(s, 4) for e, s in sorted(self.shares.items())},
        }


def findings(text: str, context: list[str] | None = None) -> list[dict[str, object]]:
    """One text's entities as `ycp pii scan` writes them (Python string offsets)."""
    return [
        {"entity_type": r.entity_type, "start": r.start, "end": r.end, "score": round(r.score, 2)}
        for r in find(text, context)
    ]


def scan_column(column: str, values: list[str]) -> ColumnScan:
    """Share of the values that carry each entity type; each distinct value is analyzed once,
    its first `VALUE_CHARS` characters."""
    counts = Counter(v[:VALUE_CHARS] for v in values if v and v.strip())
    carrying: Counter[str] = Counter()
    for value, n in counts.items():
        for entity in {r.entity_type for r in find(value, [column])}:
            carrying[entity] += n
    total = sum(counts.values())
    return ColumnScan(column, total, {e: c / total for e, c in carrying.items()})


def scan_columns(
    con: duckdb.DuckDBPyConnection, relation: str, sample: int = SAMPLE_ROWS
) -> list[ColumnScan]:
    """Scan every column of a DuckDB relation (e.g. `read_parquet(…)`) on a repeatable sample
    of rows; provenance columns (`_bureau`, `_run_id` …) are skipped."""
    columns = [
        row[0]
        for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        if not row[0].startswith("_")
    ]
    if not columns:
        return []
    texts = ", ".join(f"left(CAST({quoted(c)} AS VARCHAR), {VALUE_CHARS})" for c in columns)
    rows = con.execute(
        f"SELECT {texts} FROM {relation} USING SAMPLE reservoir({int(sample)} ROWS) REPEATABLE (7)"
    ).fetchall()
    return [scan_column(c, [row[i] for row in rows]) for i, c in enumerate(columns)]


def table_relation(path: Path) -> str:
    """A CSV (all columns as text, as delivered) or Parquet file as a DuckDB relation."""
    literal = sql_literal(str(path))
    if path.suffix.lower() == ".parquet":
        return f"read_parquet({literal}, hive_partitioning = false)"
    if path.suffix.lower() in (".csv", ".txt"):
        return f"read_csv({literal}, all_varchar = true, header = true)"
    raise ValueError(f"{path}: only CSV and Parquet tables can be scanned")
