"""Feedback to bureaus (可反馈可追溯可定责): what a ticket says about a partition's problem rows.

Quarantined rows and one-source conflicts become one finding per rule. A finding names rows
by masked primary key and source line, so a bureau can find and fix them and no ticket ever
carries the values themselves.
"""

from dataclasses import dataclass
from typing import Protocol

import duckdb
from upath import UPath

from ycpipelines.foundation.lake import sql_literal
from ycpipelines.foundation.masking import MaskedField, mask

ROW_KEYS_KEPT = 200  # masked row keys a finding names; the count says how many there were


@dataclass(frozen=True)
class Finding:
    """Problem rows of one rule in one partition, named by masked key and line only."""

    reason: str
    count: int
    row_keys: list[str]


class KeyedDataset(Protocol):
    """What a finding needs of a catalog dataset: its key fields, to mask them."""

    @property
    def primary_key(self) -> list[str]: ...

    def field(self, name: str) -> MaskedField: ...


def quarantine_findings(
    con: duckdb.DuckDBPyConnection, path: UPath, dataset: KeyedDataset
) -> dict[str, Finding]:
    """One finding per rule from a quarantine file (collect or govern stage)."""
    if not path.exists():
        return {}
    keys = ", ".join(
        f"CASE WHEN json_valid(_record) THEN json_extract_string(_record, "
        f"{sql_literal('$.' + k)}) END"
        for k in dataset.primary_key
    )
    rows = con.execute(
        f"""
        SELECT _rule, split_part(_reason, '; ', 1), count(*) OVER (PARTITION BY _rule),
               _source, _line, [{keys}]
        FROM read_parquet('{path}')
        QUALIFY row_number() OVER (PARTITION BY _rule ORDER BY _line) <= {ROW_KEYS_KEPT}
        ORDER BY _rule, _line
        """
    ).fetchall()
    fields = [dataset.field(k) for k in dataset.primary_key]
    found: dict[str, Finding] = {}
    for rule, reason, count, source, line, values in rows:
        where = f"{source}:{line}"
        if any(v is not None for v in values):
            shown = "|".join(mask(v, f) for v, f in zip(values, fields, strict=True))
            where = f"{shown} @ {where}"
        found.setdefault(rule, Finding(reason, count, [])).row_keys.append(where)
    return found


def conflict_findings(conflicts: list[dict]) -> dict[str, Finding]:
    """One finding per shared element that disagrees with its authoritative source (一数一源)."""
    by_element: dict[str, list[dict]] = {}
    for c in conflicts:
        by_element.setdefault(c["element"], []).append(c)
    return {
        f"conflict:{element}": Finding(
            f"与权威来源 {rows[0]['authority']} 不一致 disagrees with the authoritative source",
            len(rows),
            [r["row_key"] for r in rows],
        )
        for element, rows in by_element.items()
    }
