"""PII scan (敏感信息扫描): entities in texts, and per column the share of values carrying each.

`scan_columns` serves both `ycp pii scan --table` and classification (分类分级): each column's
distinct values are analyzed once, with the column name passed as context.
"""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
from presidio_analyzer import RecognizerResult

from ycpipelines.deid import ner
from ycpipelines.deid.analyzer import SCORE_THRESHOLD, candidates, find, resolve
from ycpipelines.deid.recognizers import ModelRecognizer
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


def _shown(result: RecognizerResult, explain: bool) -> dict[str, object]:
    shown: dict[str, object] = {
        "entity_type": result.entity_type,
        "start": result.start,
        "end": result.end,
        "score": round(result.score, 2),
    }
    if explain:
        recognizer = result.recognition_metadata.get(RecognizerResult.RECOGNIZER_NAME_KEY, "")
        why = result.analysis_explanation
        shown["recognizer"] = recognizer
        shown["kind"] = "model" if recognizer == ModelRecognizer.__name__ else "rule"
        shown["why"] = why and (why.textual_explanation or why.pattern_name)
    return shown


def findings(
    text: str, context: list[str] | None = None, explain: bool = False
) -> list[dict[str, object]]:
    """One text's entities as `ycp pii scan` writes them (Python string offsets); with
    `explain`, each names its recognizer (rule or model) and why, with every candidate any
    recognizer proposed over it, kept or not, at its own score (to tune thresholds)."""
    if not explain:
        return [_shown(r, False) for r in find(text, context)]
    proposed = candidates(text, context)
    kept = resolve([r for r in proposed if r.score >= SCORE_THRESHOLD])
    return [
        {
            **_shown(r, True),
            "candidates": [
                _shown(c, True) for c in proposed if c.start < r.end and r.start < c.end
            ],
        }
        for r in kept
    ]


def scan_column(column: str, values: list[str]) -> ColumnScan:
    """Share of the values that carry each entity type; each distinct value is analyzed once,
    its first `VALUE_CHARS` characters, their clauses labelled by the model in batches first."""
    counts = Counter(v[:VALUE_CHARS] for v in values if v and v.strip())
    ner.prime(counts)
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
