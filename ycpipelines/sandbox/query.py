"""Aggregate queries over safe/ data with differential privacy (差分隐私), run inside the domain.

A consumer describes a query as data: dimensions, measures and filters over one `safe/` dataset
its authorization covers. Each person contributes at most `max_rows_per_person` rows; counts and
clamped sums get Laplace noise from OpenDP calibrated to that contribution bound and the query's
ε. A cell is released only when it holds at least the minimum group size of rows — the
aggregation threshold of clean rooms, applied to the true count, so its presence says that much —
and then only with its noisy figures. Nothing but the released cells leaves this module.
"""

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ycpipelines.catalog import Catalog, Policy
from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.lake import Lake, duck, quoted

PERSON = "person_pid"
MIN_GROUP = 10


class Measure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["count", "sum", "mean"]
    column: str | None = None
    lower: float = 0.0  # values are clamped into [lower, upper] before summing
    upper: float = 0.0

    @model_validator(mode="after")
    def _bounded(self) -> "Measure":
        if self.kind != "count" and (self.column is None or self.upper <= self.lower):
            raise ValueError(f"a {self.kind} needs a column and bounds lower < upper")
        return self

    @property
    def name(self) -> str:
        return "count" if self.kind == "count" else f"{self.kind}_{self.column}"


class Filter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    op: Literal["=", "!=", "<", "<=", ">", ">=", "in", "prefix"]
    value: str | float | list[str | float]


class QuerySpec(BaseModel):
    """What a consumer may ask: aggregates only, over columns its authorization grants."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str
    dimensions: list[str] = []
    measures: list[Measure] = Field(min_length=1)
    filters: list[Filter] = []
    epsilon: float = Field(gt=0, le=10)
    max_rows_per_person: int = Field(default=20, ge=1, le=1000)

    def columns(self) -> set[str]:
        return (
            set(self.dimensions)
            | {m.column for m in self.measures if m.column}
            | {f.column for f in self.filters}
        )


class QueryRefused(ValueError):
    """The query asks for something the sandbox does not release; the message says what."""


@dataclass(frozen=True)
class Released:
    """The released cells and what a reviewer needs to know about them."""

    table: pa.Table
    cells: int
    suppressed: int
    noise_scales: dict[str, float]


def check_spec(spec: QuerySpec, catalog: Catalog, granted: list[str]) -> None:
    """Only granted, non-pseudonymous columns of a safe/ dataset; never a person as a group."""
    try:
        dataset = catalog.dataset(spec.dataset)
    except StopIteration:
        raise QueryRefused(f"no dataset {spec.dataset!r}") from None
    pseudonyms = {f.safe_column for f in dataset.fields if f.policy == Policy.PSEUDONYMIZE}
    safe = {f.safe_column for f in dataset.fields if f.policy != Policy.DROP}
    unknown = sorted(spec.columns() - safe)
    if unknown:
        raise QueryRefused(f"columns {unknown} are not in safe/{spec.dataset}")
    linked = sorted(spec.columns() & pseudonyms)
    if linked:
        raise QueryRefused(f"pseudonym columns {linked} cannot be grouped, filtered or summed")
    outside = sorted(spec.columns() - set(granted))
    if outside:
        raise QueryRefused(f"columns {outside} are not granted by the authorization")
    if PERSON not in pseudonyms:
        raise QueryRefused(f"safe/{spec.dataset} has no {PERSON} to bound contributions by")


def where(spec: QuerySpec) -> tuple[str, list]:
    clauses, values = [], []
    for f in spec.filters:
        column = f"CAST({quoted(f.column)} AS VARCHAR)" if f.op == "prefix" else quoted(f.column)
        if f.op == "in":
            items = f.value if isinstance(f.value, list) else [f.value]
            clauses.append(f"{column} IN ({', '.join('?' for _ in items)})")
            values += items
        elif f.op == "prefix":
            clauses.append(f"starts_with({column}, ?)")
            values.append(str(f.value))
        else:
            clauses.append(f"{column} {f.op} ?")
            values.append(f.value)
    return (" AND ".join(clauses) or "true"), values


def true_cells(lake: Lake, spec: QuerySpec) -> pa.Table:
    """Per cell: row count and clamped sums, each person's rows bounded to the first rows in a
    fixed pseudo-random order (not released). Only the few persons over the bound are sorted;
    everyone else's rows pass as they are (the same result, without a window over every row)."""
    condition, values = where(spec)
    sums = {
        m.column: f"sum(greatest(least(CAST({quoted(m.column)} AS DOUBLE), {m.upper}), "
        f"{m.lower})) AS {quoted('sum_' + m.column)}"
        for m in spec.measures
        if m.column
    }
    dims = ", ".join(quoted(d) for d in spec.dimensions)
    select = ", ".join([*(quoted(d) for d in spec.dimensions), "count(*) AS n", *sums.values()])
    files = lake.glob(Layer.SAFE, spec.dataset)
    used = dict.fromkeys([PERSON, *spec.dimensions, *(m.column for m in spec.measures if m.column)])
    with duck() as con:
        every = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{files}'").fetchall()]
        row = "concat_ws('|', " + ", ".join(f"CAST({quoted(c)} AS VARCHAR)" for c in every) + ")"
        person = quoted(PERSON)
        return con.sql(
            f"""
            WITH rows AS NOT MATERIALIZED (
                SELECT {", ".join(quoted(c) for c in used)}, hash({row}) AS _order
                FROM read_parquet('{files}') WHERE {condition}
            ),
            heavy AS (SELECT {person} FROM rows GROUP BY {person} HAVING count(*) > ?),
            bounded AS (
                SELECT * FROM rows ANTI JOIN heavy USING ({person})
                UNION ALL
                (SELECT * FROM rows SEMI JOIN heavy USING ({person})
                 QUALIFY row_number() OVER (PARTITION BY {person} ORDER BY _order) <= ?)
            )
            SELECT {select} FROM bounded {f"GROUP BY {dims} ORDER BY {dims}" if dims else ""}
            """,
            params=[*values, spec.max_rows_per_person, spec.max_rows_per_person],
        ).to_arrow_table()


def laplace(values: list[float], sensitivity: float, epsilon: float) -> tuple[list[float], float]:
    """OpenDP's Laplace mechanism on a vector with the given L1 sensitivity; returns the noisy
    values and the scale, checked by OpenDP's own privacy map to spend at most ε."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float)
    scale = sensitivity / epsilon
    mechanism = dp.m.make_laplace(*space, scale=scale)
    if mechanism.map(d_in=float(sensitivity)) > epsilon * (1 + 1e-9):
        raise AssertionError("the mechanism would spend more than its ε")
    return [float(v) for v in mechanism([float(v) for v in values])], scale


def release(lake: Lake, spec: QuerySpec, min_group: int = MIN_GROUP) -> Released:
    """Noisy counts and sums per cell; cells of fewer than `min_group` rows withheld."""
    cells = true_cells(lake, spec).to_pylist()
    sums = [m.column for m in spec.measures if m.kind in ("sum", "mean")]
    share = spec.epsilon / (1 + len(sums))  # the count is always measured: it gates release
    cap = spec.max_rows_per_person
    counts, scales = laplace([c["n"] for c in cells], cap, share)
    noise = {"count": scales}
    noisy_sums = {}
    for m in spec.measures:
        if m.column in sums and m.column not in noisy_sums:
            bound = cap * max(abs(m.lower), abs(m.upper))
            noisy_sums[m.column], noise[f"sum_{m.column}"] = laplace(
                [c[f"sum_{m.column}"] or 0.0 for c in cells], bound, share
            )
    rows = []
    for i, cell in enumerate(cells):
        if cell["n"] < min_group:
            continue
        row = {d: cell[d] for d in spec.dimensions}
        count = max(counts[i], float(min_group))  # post-processing: a released cell shows ≥ min
        for m in spec.measures:
            if m.kind == "count":
                row["count"] = round(count)
            elif m.kind == "sum":
                row[m.name] = round(noisy_sums[m.column][i], 2)
            else:
                mean = noisy_sums[m.column][i] / count
                row[m.name] = round(min(max(mean, m.lower), m.upper), 2)
        rows.append(row)
    columns = [*spec.dimensions, *dict.fromkeys(m.name for m in spec.measures)]
    table = pa.Table.from_pylist(rows) if rows else pa.table({c: [] for c in columns})
    return Released(table.select(columns), len(rows), len(cells) - len(rows), noise)
