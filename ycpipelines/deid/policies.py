"""Column policies (脱敏策略) as DuckDB SQL over one std/ partition, written to safe/.

Every policy is one vectorized SQL expression: keyed pseudonyms, masking, generalization
(birth year or 5-year band, county, a resident ID's region and birth year), suppression of rare
values. Free text is redacted in two passes: the row's own identifiers are replaced exactly in
SQL, then Presidio analyzes each distinct remaining text once.
"""

import duckdb
import pyarrow as pa
from upath import UPath

from ycpipelines.catalog import Dataset, Policy, SourceField
from ycpipelines.deid.pseudonym import VERSION_COLUMN, PseudonymKey, install_pseudonym
from ycpipelines.deid.regions import NINGXIA_COUNTIES
from ycpipelines.foundation.lake import copy_to_parquet, quoted, sql_literal
from ycpipelines.foundation.metadata import SQL_TYPES

# The entity tag a row's own identifier gets when it appears in that row's free text.
TAG_BY_STANDARD = {
    "resident_id": "<CN_RESIDENT_ID>",
    "phone": "<PHONE_NUMBER>",
    "person_name": "<PERSON>",
    "email": "<EMAIL_ADDRESS>",
    "bank_card": "<CN_BANK_CARD>",
    "passport": "<CN_PASSPORT>",
}
# Characters a mask leaves visible at the start and the end, by standard: 138****5678.
MASK_KEEP = {"phone": (3, 4), "bank_card": (6, 4), "resident_id": (6, 4), "person_name": (1, 0)}
SAFE_TYPES = {
    Policy.PSEUDONYMIZE: "VARCHAR",
    Policy.MASK: "VARCHAR",
    Policy.BIRTH_YEAR: "BIGINT",
    Policy.BIRTH_BAND: "VARCHAR",
    Policy.COUNTY: "VARCHAR",
    Policy.REDACT_TEXT: "VARCHAR",
}
# A resident ID's parts (GB 11643): the prefecture of issue (GB/T 2260) and the birth year.
ID_PARTS = {
    "region": ("substr({v}, 1, 4) || '00'", "VARCHAR"),
    "birth_year": ("TRY_CAST(substr({v}, 7, 4) AS BIGINT)", "BIGINT"),
}
COUNTY_PATTERN = "(" + "|".join(NINGXIA_COUNTIES.values()) + ")"


def _known_identifiers(dataset: Dataset) -> list[tuple[SourceField, str]]:
    tagged = []
    for f in dataset.fields:
        if f.standard in TAG_BY_STANDARD:
            tagged.append((f, TAG_BY_STANDARD[f.standard]))
        elif f.policy == Policy.COUNTY:
            tagged.append((f, "<LOCATION>"))
    return tagged


def pre_redacted(dataset: Dataset, text: SourceField) -> str:
    """SQL of a free-text field with the row's own identifiers replaced by their tags; what is
    left goes to Presidio, once per distinct value."""
    expression = quoted(text.name)
    for f, tag in _known_identifiers(dataset):
        expression = (
            f"CASE WHEN length({quoted(f.name)}) >= 2 THEN replace({expression}, {quoted(f.name)}, "
            f"{sql_literal(tag)}) ELSE {expression} END"
        )
    return expression


def _mask(column: str, standard: str | None) -> str:
    head, tail = MASK_KEEP.get(standard or "", (1, 1))
    shown = head + tail
    return (
        f"CASE WHEN length({column}) > {shown} THEN left({column}, {head}) || "
        f"repeat('*', length({column}) - {shown}) || right({column}, {tail}) "
        f"ELSE repeat('*', length({column})) END"
    )


def column_sql(field: SourceField, k: int) -> str | None:
    """The safe/ expression of one field, or None when the field is dropped; `k` is the
    smallest count a suppressed field's value must reach to be kept."""
    column = quoted(field.name)
    match field.policy:
        case Policy.KEEP:
            return column
        case Policy.DROP:
            return None
        case Policy.PSEUDONYMIZE:
            return f"yc_pseudonym({column})"
        case Policy.MASK:
            return _mask(column, field.standard)
        case Policy.BIRTH_YEAR:
            return f"year({column})"
        case Policy.BIRTH_BAND:
            start = f"(year({column}) - year({column}) % 5)"
            return f"CAST({start} AS VARCHAR) || '-' || CAST({start} + 4 AS VARCHAR)"
        case Policy.COUNTY:
            return f"nullif(regexp_extract({column}, '{COUNTY_PATTERN}', 1), '')"
        case Policy.SUPPRESS:
            return (
                f"CASE WHEN count({column}) OVER (PARTITION BY {column}) >= {k} THEN {column} END"
            )
        case Policy.REDACT_TEXT:
            return f"redacted_{field.name}.redacted"


def safe_outputs(dataset: Dataset) -> list[tuple[SourceField, str, str, str]]:
    """Every safe/ column as (source field, name, SQL expression, SQL type), in field order."""
    outputs = []
    for f in dataset.fields:
        sql = column_sql(f, dataset.k)
        if sql is None:
            continue
        outputs.append((f, f.safe_column, sql, SAFE_TYPES.get(f.policy, SQL_TYPES[f.type])))
        for part, name in zip(f.derive, f.derived_columns, strict=True):
            expression, kind = ID_PARTS[part]
            outputs.append((f, name, expression.format(v=quoted(f.name)), kind))
    return outputs


def deidentify(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, std: UPath, safe: UPath, key: PseudonymKey
) -> int:
    """Write the de-identified partition; returns its row count (equal to the std rows).

    A partition holding pseudonyms names the key version that made them in `_pseudonym_version`.
    """
    # Presidio loads in runs, not with definitions.
    from ycpipelines.deid.analyzer import redact_texts

    install_pseudonym(con, key.secret)
    texts = [f for f in dataset.fields if f.policy == Policy.REDACT_TEXT]
    pre = "".join(f", {pre_redacted(dataset, f)} AS {quoted(f.name + '__pre')}" for f in texts)
    # Free text is read twice (its distinct values, then the join): materialize it once.
    relation = "TABLE" if texts else "VIEW"
    con.execute(
        f"CREATE OR REPLACE TEMP {relation} src AS SELECT *{pre} FROM read_parquet('{std}')"
    )
    joins = []
    for f in texts:
        known_removed = quoted(f.name + "__pre")
        distinct = [
            row[0]
            for row in con.execute(
                f"SELECT DISTINCT {known_removed} FROM src WHERE {quoted(f.name)} IS NOT NULL"
            ).fetchall()
        ]
        mapping = pa.table({"text": distinct, "redacted": redact_texts(distinct)})
        con.register(f"redacted_{f.name}", mapping)
        joins.append(f"LEFT JOIN redacted_{f.name} ON src.{known_removed} = redacted_{f.name}.text")
    columns = [f"{sql} AS {quoted(name)}" for _, name, sql, _ in safe_outputs(dataset)]
    if any(f.policy == Policy.PSEUDONYMIZE for f in dataset.fields):
        columns.append(f"{sql_literal(key.version)} AS {VERSION_COLUMN}")
    rows = copy_to_parquet(
        con, f"SELECT {', '.join(columns)}, src._bureau FROM src {' '.join(joins)}", safe
    )
    for f in texts:
        con.unregister(f"redacted_{f.name}")
    con.execute(f"DROP {relation} src")
    return rows
