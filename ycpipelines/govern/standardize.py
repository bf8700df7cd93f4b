"""Apply standards and row rules to one partition; passing rows to std/, the rest to quarantine/."""

import duckdb
from upath import UPath

from ycpipelines.catalog import Catalog, Dataset, SourceField
from ycpipelines.foundation.lake import copy_to_parquet, quoted, sql_literal
from ycpipelines.foundation.quarantine import PROVENANCE, quarantine_select
from ycpipelines.govern.records import Routed
from ycpipelines.govern.rules import ROW_RULES
from ycpipelines.govern.standards import install_macros


def std(field: SourceField) -> str:
    return quoted(f"{field.name}__std")


def violations(catalog: Catalog, dataset: Dataset, day: str) -> list[tuple[str, str, str]]:
    """(code, reason, SQL that is true when violated) for every row-level check of a dataset."""
    checks = []
    for f in dataset.fields:
        if f.required:
            checks.append(
                (
                    f"missing:{f.name}",
                    f"{f.label} {f.name}: 必填字段缺失 required value is missing",
                    f"{std(f)} IS NULL",
                )
            )
        standard = catalog.standard(f)
        valid = standard.is_valid(std(f))
        if valid:
            checks.append(
                (
                    f"invalid:{f.name}",
                    f"{f.label} {f.name}: 不符合标准 fails standard "
                    f"{standard.name} ({standard.label})",
                    f"({quoted(f.name)} IS NOT NULL AND {std(f)} IS NOT NULL AND NOT ({valid}))"
                    f" OR ({quoted(f.name)} IS NOT NULL AND trim({quoted(f.name)}) <> '' "
                    f"AND {std(f)} IS NULL)",
                )
            )
    for rule in dataset.rules:
        row_rule = ROW_RULES[rule.rule]
        columns = [std(dataset.field(n)) for n in rule.fields]
        checks.append(
            (
                f"rule:{rule.rule}",
                f"{row_rule.reason} ({', '.join(rule.fields)})",
                row_rule.violated(columns, day),
            )
        )
    return checks


def flag(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    dataset: Dataset,
    raw: UPath,
    checks: list[tuple[str, str, str]],
    duplicate: str,
) -> None:
    """The temp table `checked`: each raw row normalized, with the codes of the checks it
    violates (a later row repeating a clean row's primary key is a duplicate)."""
    pk = ", ".join(std(dataset.field(k)) for k in dataset.primary_key)
    normalized = ", ".join(
        f"{catalog.standard(f).normalized(quoted(f.name))} AS {std(f)}" for f in dataset.fields
    )
    flagged = ", ".join(f"CASE WHEN {sql} THEN {sql_literal(code)} END" for code, _, sql in checks)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked AS
        WITH normalized AS (SELECT *, {normalized} FROM read_parquet('{raw}')),
        flagged AS (
            SELECT *, list_filter([{flagged}], lambda x: x IS NOT NULL) AS _v FROM normalized
        )
        SELECT * EXCLUDE (_v), CASE
            WHEN len(_v) = 0 AND row_number() OVER (
                PARTITION BY {pk}, len(_v) = 0 ORDER BY _line) > 1
            THEN [{sql_literal(duplicate)}] ELSE _v END AS _violations
        FROM flagged
    """)


def quarantine_query(dataset: Dataset, reasons: dict[str, str], run_id: str) -> str:
    """The flagged rows as quarantine rows: first rule, every reason, the row as delivered."""
    reason_map = (
        "MAP {" + ", ".join(f"{sql_literal(c)}: {sql_literal(r)}" for c, r in reasons.items()) + "}"
    )
    record = (
        "to_json({"
        + ", ".join(f"{sql_literal(f.name)}: {quoted(f.name)}" for f in dataset.fields)
        + "})"
    )
    return quarantine_select("govern", run_id) + (
        " FROM (SELECT *, _violations[1] AS _rule, "
        "array_to_string(list_transform(_violations, "
        f"lambda c: {reason_map}[c]), '; ') AS _reason, "
        f"{record} AS _record FROM checked WHERE len(_violations) > 0)"
    )


def route(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    dataset: Dataset,
    raw: UPath,
    day: str,
    std_path: UPath,
    quarantine_path: UPath,
    run_id: str,
) -> Routed:
    """Standardize one partition; each row goes to std/ or to quarantine/, never both or neither."""
    install_macros(con)
    checks = violations(catalog, dataset, day)
    duplicate = f"duplicate:{'+'.join(dataset.primary_key)}"
    reasons = {code: reason for code, reason, _ in checks}
    reasons[duplicate] = "主键重复 duplicate primary key within the partition"
    flag(con, catalog, dataset, raw, checks, duplicate)
    standardized = copy_to_parquet(
        con,
        "SELECT "
        + ", ".join(f"{std(f)} AS {quoted(f.name)}" for f in dataset.fields)
        + f", {', '.join(PROVENANCE)} FROM checked WHERE len(_violations) = 0",
        std_path,
    )
    quarantined = copy_to_parquet(con, quarantine_query(dataset, reasons, run_id), quarantine_path)
    by_rule = dict(
        con.execute(
            "SELECT _violations[1], count(*) FROM checked WHERE len(_violations) > 0 GROUP BY 1"
        ).fetchall()
    )
    collected = con.execute("SELECT count(*) FROM checked").fetchone()[0]
    con.execute("DROP TABLE checked")
    return Routed(collected, standardized, quarantined, by_rule)
