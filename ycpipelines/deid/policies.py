"""Column policies (脱敏策略) as DuckDB SQL over one std/ partition, written to safe/.

Free text is redacted in two passes: the row's own identifiers are replaced exactly in SQL,
then Presidio analyzes each distinct remaining text once.
"""

from pathlib import Path

import duckdb
import pyarrow as pa

from ycpipelines.catalog import Dataset, Policy, SourceField
from ycpipelines.deid.pseudonym import hmac_macro
from ycpipelines.deid.regions import NINGXIA_COUNTIES
from ycpipelines.lake import copy_to_parquet, quoted, sql_literal

# The entity tag a row's own identifier gets when it appears in that row's free text.
TAG_BY_STANDARD = {
    "resident_id": "<CN_RESIDENT_ID>",
    "phone": "<PHONE_NUMBER>",
    "person_name": "<PERSON>",
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


def _pre_redacted(dataset: Dataset, text: SourceField) -> str:
    expression = quoted(text.name)
    for f, tag in _known_identifiers(dataset):
        expression = (
            f"CASE WHEN length({quoted(f.name)}) >= 2 THEN replace({expression}, {quoted(f.name)}, "
            f"{sql_literal(tag)}) ELSE {expression} END"
        )
    return expression


def column_sql(field: SourceField) -> str | None:
    """The safe/ expression of one field, or None when the field is dropped."""
    column = quoted(field.name)
    match field.policy:
        case Policy.KEEP:
            return column
        case Policy.DROP:
            return None
        case Policy.PSEUDONYMIZE:
            return f"yc_pseudonym({column})"
        case Policy.BIRTH_YEAR:
            return f"year({column})"
        case Policy.COUNTY:
            return f"nullif(regexp_extract({column}, '{COUNTY_PATTERN}', 1), '')"
        case Policy.REDACT_TEXT:
            return f"redacted_{field.name}.redacted"


def deidentify(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, std: Path, safe: Path, key: str
) -> int:
    """Write the de-identified partition; returns its row count (equal to the std rows)."""
    # Presidio loads in runs, not with definitions.
    from ycpipelines.deid.analyzer import redact_texts

    con.execute(hmac_macro(key))
    texts = [f for f in dataset.fields if f.policy == Policy.REDACT_TEXT]
    pre = "".join(f", {_pre_redacted(dataset, f)} AS {quoted(f.name + '__pre')}" for f in texts)
    con.execute(f"CREATE OR REPLACE TEMP TABLE src AS SELECT *{pre} FROM read_parquet('{std}')")
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
    columns = [
        f"{sql} AS {quoted(f.safe_column)}" for f in dataset.fields if (sql := column_sql(f))
    ]
    rows = copy_to_parquet(
        con, f"SELECT {', '.join(columns)}, src._bureau FROM src {' '.join(joins)}", safe
    )
    for f in texts:
        con.unregister(f"redacted_{f.name}")
    con.execute("DROP TABLE src")
    return rows
