"""Expectation suites (质量规则集): GE's own JSON in `expectations/`, checked when definitions load.

Data engineers change a rule by editing the JSON; no Python changes. A suite is checked with GE's
own classes (each expectation is built as its GE class, so an unknown type or a bad or missing
argument is caught), against the dataset's catalog fields, and its regexes against DuckDB's
regex engine, which runs them. Any problem fails loading with the file and the expectation named.

Besides GE's expectations, the suite's `meta` holds two settings of the gate:
- `min_share_of_previous_rows` (0–1]: the row-count collapse gate; a partition with fewer rows
  than that share of the bureau's previous committed partition fails;
- `failing_value_samples` (0–20, default 0): failing values kept per expectation, masked. Each
  costs GE one more query per expectation (a full scan when nothing fails), so it is opt-in.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ycpipelines.catalog import CatalogError, Dataset
from ycpipelines.foundation.quarantine import PROVENANCE
from ycpipelines.foundation.settings import Settings

COLUMN_KWARGS = ("column", "column_A", "column_B")
COLUMN_LIST_KWARGS = ("column_list", "column_set")
ROW_SHARE = "min_share_of_previous_rows"
SAMPLES = "failing_value_samples"
MAX_SAMPLES = 20


def expectations_dir() -> Path:
    return Settings().expectations


@dataclass(frozen=True)
class Suite:
    """A dataset's checked suite: the GE document as written, and the gate's settings."""

    path: Path
    document: dict
    min_share_of_previous_rows: float | None
    failing_value_samples: int

    @property
    def result_format(self) -> dict:
        """GE's BASIC results (counts and percentages) with the suite's number of samples."""
        return {"result_format": "BASIC", "partial_unexpected_count": self.failing_value_samples}

    @property
    def name(self) -> str:
        return self.document["name"]

    @property
    def version(self) -> str:
        """Content hash, part of the std asset's code version."""
        return hashlib.sha256(json.dumps(self.document, sort_keys=True).encode()).hexdigest()[:8]


def referenced_columns(kwargs: dict) -> set[str]:
    columns = {kwargs[k] for k in COLUMN_KWARGS if isinstance(kwargs.get(k), str)}
    for k in COLUMN_LIST_KWARGS:
        columns |= set(kwargs.get(k) or [])
    return columns


def load_suite(dataset: Dataset) -> Suite:
    """The dataset's suite from `expectations/<id>.json`, checked; a fault raises CatalogError."""
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    path = expectations_dir() / f"{dataset.id}.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CatalogError(f"expectation suite for {dataset.id!r}: {path}: {error}") from error
    if not isinstance(document, dict) or not document.get("expectations"):
        raise CatalogError(f"{path}: the suite has no expectations")
    known = {f.name for f in dataset.fields} | set(PROVENANCE)
    for n, expectation in enumerate(document["expectations"]):
        where = f"{path}: expectation #{n} {expectation.get('type', '(no type)')!r}"
        try:
            ExpectationConfiguration(**expectation).to_domain_obj()
        except Exception as error:  # GE raises its own, pydantic's and TypeError alike
            raise CatalogError(f"{where}: {error}") from error
        kwargs = expectation.get("kwargs", {})
        unknown = sorted(referenced_columns(kwargs) - known)
        if unknown:
            raise CatalogError(f"{where}: columns {unknown} are not fields of {dataset.id}")
        if "regex" in kwargs:
            try:
                duckdb.connect().execute("SELECT regexp_matches('', $1)", [kwargs["regex"]])
            except duckdb.Error as error:
                raise CatalogError(f"{where}: regex not accepted by DuckDB: {error}") from error
    meta = document.get("meta", {})
    share = meta.get(ROW_SHARE)
    if share is not None and not (isinstance(share, int | float) and 0 < share <= 1):
        raise CatalogError(f"{path}: meta.{ROW_SHARE} must be a share in (0, 1], not {share!r}")
    samples = meta.get(SAMPLES, 0)
    if not (isinstance(samples, int) and 0 <= samples <= MAX_SAMPLES):
        raise CatalogError(f"{path}: meta.{SAMPLES} must be 0 to {MAX_SAMPLES}, not {samples!r}")
    try:
        ExpectationSuite(**document)
    except Exception as error:
        raise CatalogError(f"{path}: {error}") from error
    return Suite(path, document, share, samples)
