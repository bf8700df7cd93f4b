"""Privacy models (隐私模型) in SQL: k-anonymity, ℓ-diversity and re-identification risk.

Rows sharing the same quasi-identifier values form an equivalence class. The figures are
counts and ratios over the classes, never the values themselves:

- prosecutor risk of a row: 1 / its class size (the attacker knows the person is in the data);
- journalist risk of a row: 1 / the size of the same class in the population register (the
  attacker does not know; a class larger in the data than in the register counts its own size);
- rows to suppress: rows in classes smaller than k (or with fewer than ℓ sensitive values).

A class's size counts distinct subjects (people) when rows repeat per person, else rows.
"""

from dataclasses import asdict, dataclass

import dagster as dg
import duckdb

from ycpipelines.catalog import Thresholds
from ycpipelines.foundation.lake import quoted

K_ANONYMITY = "k_anonymity"
L_DIVERSITY = "l_diversity"


@dataclass(frozen=True)
class Anonymity:
    """Figures of one table under its quasi-identifiers."""

    rows: int
    subjects: int
    classes: int
    smallest_class: int
    rows_below_k: int
    max_risk: float  # prosecutor
    average_risk: float
    journalist_max_risk: float | None  # None: no population register to compare with
    journalist_average_risk: float | None
    smallest_l: int | None  # None: no sensitive attribute named
    rows_below_l: int | None

    def meets(self, required: Thresholds) -> bool:
        return self.rows == 0 or (
            self.smallest_class >= required.k
            and self.max_risk <= required.max_risk
            and self.average_risk <= required.average_risk
        )

    def metadata(self) -> dict[str, object]:
        return {name: value for name, value in asdict(self).items() if value is not None}


def _class_key(columns: list[str]) -> str:
    return ", ".join(quoted(c) for c in columns)


def anonymity(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    quasi: list[str],
    k: int,
    *,
    subject: str | None = None,
    sensitive: str | None = None,
    l_diversity: int = 2,
    population: str | None = None,
) -> Anonymity:
    """Measure `relation` (a table expression) over `quasi`; `population`, a relation with the
    same quasi-identifier columns and one row per person, gives the journalist risk."""
    key = _class_key(quasi)
    select = f"{key}, " if quasi else ""
    group = f"GROUP BY {key}" if quasi else ""
    size = f"count(DISTINCT {quoted(subject)})" if subject else "count(*)"
    diverse = f"count(DISTINCT {quoted(sensitive)})" if sensitive else "NULL::BIGINT"
    joined = " AND ".join(f"c.{quoted(q)} IS NOT DISTINCT FROM p.{quoted(q)}" for q in quasi)
    if population:
        pop = f"(SELECT {select}count(*) AS big_n FROM ({population}) {group})"
        pop_join = f"LEFT JOIN {pop} p ON {joined or 'true'}"
        j_risk = "1.0 / greatest(coalesce(p.big_n, 0), c.n)"
    else:
        pop_join, j_risk = "", "NULL::DOUBLE"
    found = con.execute(
        f"""
        WITH c AS (
            SELECT {select}count(*) AS r, {size} AS n, {diverse} AS l
            FROM {relation} {group}
        )
        SELECT coalesce(sum(c.r), 0), coalesce(sum(c.n), 0), count(*),
               coalesce(min(c.n), 0),
               coalesce(sum(c.r) FILTER (c.n < $k), 0),
               coalesce(max(1.0 / c.n), 0), coalesce(count(*) / sum(c.n), 0),
               max({j_risk}), sum(c.n * {j_risk}) / sum(c.n),
               min(c.l), coalesce(sum(c.r) FILTER (c.l < $l), 0)
        FROM c {pop_join} WHERE c.r > 0
        """,
        {"k": k, "l": l_diversity},
    ).fetchone()
    rows, subjects, classes, smallest, below_k, max_risk, avg_risk, j_max, j_avg, small_l, low_l = (
        found
    )
    return Anonymity(
        rows=int(rows),
        subjects=int(subjects),
        classes=int(classes),
        smallest_class=int(smallest),
        rows_below_k=int(below_k),
        max_risk=round(float(max_risk), 6),
        average_risk=round(float(avg_risk), 6),
        journalist_max_risk=None if j_max is None else round(float(j_max), 6),
        journalist_average_risk=None if j_avg is None else round(float(j_avg), 6),
        smallest_l=None if sensitive is None or small_l is None else int(small_l),
        rows_below_l=None if sensitive is None else int(low_l),
    )


def k_anonymity_check(
    figures: Anonymity, quasi: list[str], required: Thresholds, enforced: bool = True
) -> dg.AssetCheckResult:
    """Blocking when `enforced`: every class has at least k people and the prosecutor risks
    stay within the thresholds."""
    return dg.AssetCheckResult(
        check_name=K_ANONYMITY,
        passed=figures.meets(required) or not enforced,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "quasi_identifiers": ", ".join(quasi) or "(none declared)",
            "k": required.k,
            "max_risk_allowed": required.max_risk,
            "average_risk_allowed": required.average_risk,
            "enforced": enforced,
            **figures.metadata(),
        },
    )


def l_diversity_check(figures: Anonymity, sensitive: str, l_diversity: int) -> dg.AssetCheckResult:
    """Blocking: every class holds at least ℓ distinct values of the sensitive attribute."""
    return dg.AssetCheckResult(
        check_name=L_DIVERSITY,
        passed=figures.rows == 0 or (figures.smallest_l or 0) >= l_diversity,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "sensitive": sensitive,
            "l": l_diversity,
            "smallest_l": figures.smallest_l or 0,
            "rows_below_l": figures.rows_below_l or 0,
        },
    )
