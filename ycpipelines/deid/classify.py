"""Classification and grading (分类分级) proposed from the data: which entity types a column
carries (by scan and by its name), the category and minimum level they imply, and where the
catalog declares less."""

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ycpipelines.catalog import Dataset, Level
from ycpipelines.catalog.levels import MINIMUM_LEVEL
from ycpipelines.deid.scan import SAMPLE_ROWS, ColumnScan, scan_columns
from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.lake import Lake, sql_literal
from ycpipelines.foundation.levels import highest

# A column carries an entity type when at least this share of its sampled values hold one.
CARRIES_SHARE = 0.05
# A column mostly made of one entity type, and of no other, is that kind of identifier: its
# category follows. Free text carries several; a place says nothing of whose it is (a person's
# home or a company's seat), so LOCATION proposes a level but no category.
IDENTIFIER_SHARE = 0.5
CATEGORY = {
    "CN_RESIDENT_ID": "个人信息/身份",
    "CN_PASSPORT": "个人信息/身份",
    "PERSON": "个人信息/身份",
    "PHONE_NUMBER": "个人信息/联系方式",
    "EMAIL_ADDRESS": "个人信息/联系方式",
    "CN_BANK_CARD": "个人信息/财产",
    "CN_LICENSE_PLATE": "个人信息/财产",
    "CN_USCC": "法人/登记",
}
# Column names that say what a column holds, even where the sample shows none of it.
NAMED = [
    (re.compile(r"id_?(number|no|card)|身份证|公民身份号码"), "CN_RESIDENT_ID"),
    (re.compile(r"phone|mobile|(^|_)tel($|_)|电话|手机"), "PHONE_NUMBER"),
    (re.compile(r"passport|护照"), "CN_PASSPORT"),
    (re.compile(r"bank_?card|card_?no|account_?no|银行卡|卡号|账号"), "CN_BANK_CARD"),
    (re.compile(r"e_?mail|邮箱"), "EMAIL_ADDRESS"),
    (re.compile(r"plate|车牌|号牌"), "CN_LICENSE_PLATE"),
    (re.compile(r"uscc|credit_?code|信用代码"), "CN_USCC"),
]
NEWEST_PARTITIONS = 7


@dataclass(frozen=True)
class Proposal:
    """The category and level a column's content calls for, and why."""

    column: str
    entities: dict[str, float]  # entity type → share of sampled values carrying it
    named: set[str]  # entity types the column's name announces
    level: Level | None
    category: str | None


@dataclass(frozen=True)
class Difference:
    column: str
    declared: str
    proposed: str
    below_minimum: bool


def propose(scan: ColumnScan) -> Proposal:
    entities = {e: s for e, s in scan.shares.items() if s >= CARRIES_SHARE}
    named = {entity for pattern, entity in NAMED if pattern.search(scan.column)}
    carried = set(entities) | named
    level = highest([MINIMUM_LEVEL[e] for e in carried]) if carried else None
    only = next(iter(entities)) if len(entities) == 1 else None
    category = CATEGORY.get(only) if only and entities[only] >= IDENTIFIER_SHARE else None
    return Proposal(scan.column, entities, named, level, category)


def differences(dataset: Dataset, proposals: list[Proposal]) -> list[Difference]:
    """Where the catalog grades a column below what it carries, or files it elsewhere."""
    declared = {f.name: f for f in dataset.fields}
    found = []
    for p in proposals:
        field = declared.get(p.column)
        if field is None:
            found.append(
                Difference(p.column, "not in the catalog", _describe(p), p.level is not None)
            )
            continue
        below = p.level is not None and field.level.rank < p.level.rank
        other_category = p.category is not None and p.category != field.category
        if below or other_category:
            found.append(
                Difference(p.column, f"{field.category} {field.level}", _describe(p), below)
            )
    return found


def _describe(p: Proposal) -> str:
    carried = ", ".join(
        [f"{e} {s:.0%}" for e, s in sorted(p.entities.items())]
        + [f"{e} by name" for e in sorted(p.named - set(p.entities))]
    )
    grade = f"{p.category or 'category as declared'} ≥ {p.level}" if p.level else "no PII"
    return f"{grade} [{carried}]" if carried else grade


def dataset_files(lake: Lake, dataset: Dataset) -> list[Path]:
    """The newest committed std/ partitions of a dataset; raw/ when none is governed yet."""
    for layer in (Layer.STD, Layer.RAW):
        files = lake.committed(layer, dataset.id)
        if files:
            return sorted(files, key=lambda p: p.parent.name, reverse=True)[:NEWEST_PARTITIONS]
    return []


def classify(
    con: duckdb.DuckDBPyConnection, files: list[Path], sample: int = SAMPLE_ROWS
) -> list[Proposal]:
    """Proposals for every column of the given Parquet files, from a sample of their rows."""
    paths = ", ".join(sql_literal(str(f)) for f in files)
    relation = f"read_parquet([{paths}], hive_partitioning = false)"
    return [propose(scan) for scan in scan_columns(con, relation, sample)]
