"""Quality score (质量评分) of a partition, from its suite's results, in four dimensions.

Each dimension is a share in [0, 1] (1 is perfect; a dimension nothing measures scores 1):

- completeness (完整性): non-null cells among the cells that `expect_column_values_to_not_be_null`
  expectations look at: 1 − Σ nulls / Σ rows checked.
- validity (有效性): values that meet their value rules (regex, set, range and every other column
  map expectation except null and uniqueness ones): 1 − Σ unexpected / Σ non-null values checked.
- uniqueness (唯一性): values not repeated where a uniqueness expectation asks for unique values:
  1 − Σ unexpected / Σ non-null values checked (every copy of a repeated value counts).
- timeliness (及时性): rows loaded (`_loaded_at`) no later than the dataset's `freshness_hours`
  after the end of the partition's day (Asia/Shanghai), over all rows.

The score is their mean. Table-level expectations (schema, row count) gate, but score nothing.
"""

from dataclasses import asdict, dataclass

COMPLETENESS = {"expect_column_values_to_not_be_null"}
UNIQUENESS = {
    "expect_column_values_to_be_unique",
    "expect_compound_columns_to_be_unique",
    "expect_select_column_values_to_be_unique_within_record",
}


def dimension(expectation_type: str, result: dict) -> str | None:
    """The dimension an expectation's result counts towards; None for table-level ones."""
    if result.get("unexpected_count") is None:
        return None
    if expectation_type in COMPLETENESS:
        return "completeness"
    return "uniqueness" if expectation_type in UNIQUENESS else "validity"


@dataclass(frozen=True)
class QualityScore:
    completeness: float
    validity: float
    uniqueness: float
    timeliness: float

    @property
    def score(self) -> float:
        return (self.completeness + self.validity + self.uniqueness + self.timeliness) / 4

    def as_dict(self) -> dict[str, float]:
        return {"quality_score": self.score, **asdict(self)}


def quality_score(results: list[tuple[str, dict]], timeliness: float) -> QualityScore:
    """Score from (expectation type, GE result) pairs and the timely share of rows."""
    bad = {"completeness": 0, "validity": 0, "uniqueness": 0}
    checked = dict.fromkeys(bad, 0)
    for expectation_type, result in results:
        kind = dimension(expectation_type, result)
        if kind is None:
            continue
        bad[kind] += result.get("unexpected_count") or 0
        checked[kind] += (result.get("element_count") or 0) - (result.get("missing_count") or 0)

    def share(kind: str) -> float:
        return 1 - bad[kind] / checked[kind] if checked[kind] else 1.0

    return QualityScore(share("completeness"), share("validity"), share("uniqueness"), timeliness)
