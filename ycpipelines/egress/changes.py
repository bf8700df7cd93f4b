"""What changed since a consumer's previous delivery of a scenario (变更对比): rows, schema and the
distribution of each column, measured with DuckDB. Pseudonym columns are keyed per recipient, so
only their nulls are compared, never their values."""

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ycpipelines.foundation.lake import duck, quoted

SMALLEST = 10  # rows a mean must stand on when the product names no k
NUMERIC = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL.*)$")


def relation(path: Path) -> str:
    """A delivered or built file as a relation; CSV columns typed as DuckDB infers them, so a
    CSV delivery compares with the Parquet product by type."""
    if path.suffix == ".parquet":
        return f"read_parquet('{path}')"
    return f"read_csv('{path}', header = true)"


@dataclass(frozen=True)
class ColumnStats:
    """One column's distribution: nulls in percent, distinct values, and for numbers their
    mean and standard deviation (None where not measured): aggregates only, never a value of a
    row (no minimum or maximum, which are one row's cell)."""

    nulls_pct: float
    distinct: int | None
    mean: float | None = None
    stddev: float | None = None


@dataclass(frozen=True)
class ColumnChange:
    """A column's distribution in the previous delivery and in this product."""

    column: str
    before: ColumnStats | None
    after: ColumnStats | None
    pseudonym: bool = False


@dataclass(frozen=True)
class ChangeView:
    """This product against the consumer's previous delivery of the same scenario."""

    previous_delivery: int
    previous_version: str
    rows_before: int
    rows_after: int
    added: list[str]
    removed: list[str]
    retyped: list[tuple[str, str, str]]  # (column, type before, type after)
    distribution: list[ColumnChange]


def schema(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    found = con.execute(f"DESCRIBE SELECT * FROM {relation(path)}").fetchall()
    return {str(r[0]): str(r[1]) for r in found}


def stats(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    column: str,
    kind: str,
    pseudonym: bool,
    smallest: int = SMALLEST,
) -> ColumnStats:
    """Nulls always; distinct values unless a pseudonym; mean and deviation of numbers, when at
    least `smallest` rows hold one (else a mean would be a few rows' own values)."""
    c = quoted(column)
    numeric = NUMERIC.match(kind) and not pseudonym
    parts = [
        f"coalesce(100.0 * count(*) FILTER ({c} IS NULL) / nullif(count(*), 0), 0)",
        "NULL" if pseudonym else f"count(DISTINCT {c})",
        *([f"avg({c})", f"stddev_pop({c})"] if numeric else ["NULL", "NULL"]),
        f"count({c})",
    ]
    row = con.execute(f"SELECT {', '.join(parts)} FROM {relation(path)}").fetchone()
    nulls, distinct, mean, spread, held = row
    number = [None if v is None or held < smallest else round(float(v), 4) for v in (mean, spread)]
    return ColumnStats(round(float(nulls), 2), None if distinct is None else int(distinct), *number)


def compare(
    before: Path,
    after: Path,
    pseudonyms: list[str],
    previous: tuple[int, str],
    smallest: int = SMALLEST,
) -> ChangeView:
    """Rows, schema and per-column distributions of `after` against `before`."""
    with duck() as con:
        old, new = schema(con, before), schema(con, after)
        rows = [
            int(con.execute(f"SELECT count(*) FROM {relation(p)}").fetchone()[0])
            for p in (before, after)
        ]
        distribution = [
            ColumnChange(
                column,
                stats(con, before, column, old[column], column in pseudonyms, smallest)
                if column in old
                else None,
                stats(con, after, column, new[column], column in pseudonyms, smallest)
                if column in new
                else None,
                column in pseudonyms,
            )
            for column in [*new, *(c for c in old if c not in new)]
        ]
    return ChangeView(
        previous_delivery=previous[0],
        previous_version=previous[1],
        rows_before=rows[0],
        rows_after=rows[1],
        added=[c for c in new if c not in old],
        removed=[c for c in old if c not in new],
        retyped=[(c, old[c], new[c]) for c in new if c in old and old[c] != new[c]],
        distribution=distribution,
    )
