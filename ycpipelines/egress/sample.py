"""A masked sample of a product for the review desk (审核样本): at most 20 rows, every cell shown
through `mask` by its field's level, so no value leaves more than its level allows."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ycpipelines.egress.trace import relation
from ycpipelines.foundation.lake import duck
from ycpipelines.foundation.levels import Level
from ycpipelines.foundation.masking import mask

SAMPLE_ROWS = 20


@dataclass(frozen=True)
class SampleView:
    """The sample's column names and rows, each cell already masked."""

    columns: list[str]
    rows: list[list[str]]
    masked: bool = True


@dataclass(frozen=True)
class LevelOnly:
    """A product column as masking sees it: its level; no standard (products carry none)."""

    level: Level
    standard: str | None = None


def masked_sample(path: Path, levels: Mapping[str, Level], limit: int = SAMPLE_ROWS) -> SampleView:
    """The first `limit` (at most 20) rows of `path`, masked column by column by the level in
    `levels`; a column of no known level shows a quarter of each value at most."""
    with duck() as con:
        found = con.execute(f"SELECT * FROM {relation(path)} LIMIT {min(limit, SAMPLE_ROWS)}")
        columns = [d[0] for d in found.description]
        rows = found.fetchall()
    fields = [LevelOnly(levels[c]) if c in levels else None for c in columns]
    masked = [[mask(value, f) for value, f in zip(row, fields, strict=True)] for row in rows]
    return SampleView(columns, masked)
